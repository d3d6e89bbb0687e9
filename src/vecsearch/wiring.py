"""Builds the core's use cases from settings, once per container, on first use (never at import).

The admin side (Catalog, job runners) is imported when first built: the search function never
pays for it at cold start.
"""

from functools import cache
from typing import TYPE_CHECKING

from vecsearch.adapters.storage import store_from_url
from vecsearch.core.errors import ConfigurationError
from vecsearch.core.searcher import Searcher
from vecsearch.core.store import Store
from vecsearch.settings import settings

if TYPE_CHECKING:
    from vecsearch.adapters.jobs import JobRunner
    from vecsearch.core.catalog import Catalog


@cache
def store() -> Store:
    """The container's store; a URL it cannot use is a ConfigurationError naming the variable."""
    url = settings().store_url
    try:
        return store_from_url(url)
    except (ValueError, OSError) as error:
        raise ConfigurationError(f"VECSEARCH_STORE_URL={url!r} cannot be used: {error}") from None


@cache
def catalog() -> "Catalog":
    """The container's admin use cases."""
    from vecsearch.core.catalog import Catalog  # noqa: PLC0415

    return Catalog(store())


@cache
def searcher() -> Searcher:
    """The container's search use cases; it keeps loaded versions between invocations."""
    return Searcher(store(), refresh_seconds=settings().refresh_seconds)


@cache
def job_runner() -> "JobRunner":
    """Where reindex jobs run: the worker Lambda (async invoke), or a thread as a fallback."""
    from vecsearch.adapters.jobs import LambdaJobRunner, ThreadJobRunner  # noqa: PLC0415

    config = settings()
    if config.job_runner == "thread":
        return ThreadJobRunner(catalog().run_reindex)
    if not config.worker_function:
        raise ConfigurationError(
            "VECSEARCH_WORKER_FUNCTION must name the worker when VECSEARCH_JOB_RUNNER is lambda"
        )
    return LambdaJobRunner(config.worker_function, endpoint_url=config.lambda_endpoint_url)


def reset() -> None:
    """Forget every cached collaborator and the settings (tests change the environment)."""
    for cached in (store, catalog, searcher, job_runner, settings):
        cached.cache_clear()
