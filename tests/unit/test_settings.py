"""Settings: read from VECSEARCH_* once; blanks from serverless.yml mean unset; bad URLs refused."""

import pytest
from pydantic import ValidationError

from vecsearch.settings import Settings, settings


def test_reads_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", "s3://bucket/prefix")
    monkeypatch.setenv("VECSEARCH_REFRESH_SECONDS", "2.5")
    monkeypatch.setenv("VECSEARCH_JOB_RUNNER", "thread")
    loaded = Settings()
    assert (loaded.store_url, loaded.refresh_seconds, loaded.job_runner) == (
        "s3://bucket/prefix",
        2.5,
        "thread",
    )


def test_blank_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", "file:///tmp/store")
    monkeypatch.setenv("VECSEARCH_ADMIN_TOKEN", "")
    monkeypatch.setenv("VECSEARCH_LAMBDA_ENDPOINT_URL", "")
    loaded = Settings()
    assert loaded.admin_token is None
    assert loaded.lambda_endpoint_url is None


def test_token_is_kept_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", "file:///tmp/store")
    monkeypatch.setenv("VECSEARCH_ADMIN_TOKEN", "s3cret-token")
    loaded = Settings()
    assert "s3cret-token" not in repr(loaded)
    assert loaded.admin_token is not None
    assert loaded.admin_token.get_secret_value() == "s3cret-token"


@pytest.mark.parametrize("url", ["", "/tmp/store", "http://example.com/store", "file://relative"])
def test_store_url_must_name_a_supported_store(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", url)
    with pytest.raises(ValidationError, match="store_url"):
        Settings()


def test_unknown_job_runner_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", "file:///tmp/store")
    monkeypatch.setenv("VECSEARCH_JOB_RUNNER", "cron")
    with pytest.raises(ValidationError, match="job_runner"):
        Settings()


def test_settings_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_STORE_URL", "file:///tmp/first")
    settings.cache_clear()
    try:
        first = settings()
        monkeypatch.setenv("VECSEARCH_STORE_URL", "file:///tmp/second")
        assert settings() is first
    finally:
        settings.cache_clear()
