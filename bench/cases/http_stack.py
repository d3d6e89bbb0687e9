"""Case 5: search over HTTP through the local stack (serverless-offline), informational."""

import secrets
from pathlib import Path
from typing import Any

import numpy as np
import requests

from bench.datasets import Dataset
from bench.profile import Profile
from bench.report import Row
from bench.service import BuiltVersion, Handler, LambdaContext, search_body, search_event
from bench.stats import Summary, interleaved, ratio
from devstack.stack import LocalStack, ServicePorts, free_port, running


def run(
    dataset: Dataset, built: BuiltVersion, store_root: Path, handler: Handler, profile: Profile
) -> tuple[list[Row], dict[str, Any]]:
    """Interleave HTTP requests to the local stack with in-process handler calls, same bodies."""
    stack = LocalStack(
        store_dir=store_root,
        admin_token=secrets.token_urlsafe(24),
        search_ports=ServicePorts(http=free_port(), lambda_=free_port()),
        admin_ports=ServicePorts(http=free_port(), lambda_=free_port()),
    )
    context = LambdaContext()
    url = f"{stack.search_url}/collections/{built.collection}/search"
    shapes = {
        "1 query": search_body(dataset.queries[:1]),
        f"batch {profile.batch_size}": search_body(
            np.ascontiguousarray(dataset.queries[: profile.batch_size])
        ),
    }
    rows: list[Row] = []
    details: dict[str, Any] = {}
    with running(stack), requests.Session() as session:

        def over_http(body: str) -> None:
            response = session.post(
                url, data=body, headers={"content-type": "application/json"}, timeout=60
            )
            response.raise_for_status()

        for shape, body in shapes.items():
            event = search_event(built.collection, body)
            repeats = profile.http_repeats if shape == "1 query" else profile.batch_repeats
            timings = interleaved(
                {
                    "http": lambda body=body: over_http(body),
                    "in-process": lambda event=event: handler(event, context),
                },
                repeats=repeats,
                warmup=2,
            )
            http = Summary.of(timings["http"])
            local = Summary.of(timings["in-process"])
            common = {
                "case": "local HTTP stack",
                "dataset": dataset.name,
                "unit": "s",
                "baseline_name": "in-process handler",
            }
            rows += [
                Row(
                    **common,
                    measure=f"{shape} p50",
                    ours=http.p50,
                    baseline=local.p50,
                    ratio=ratio(http.p50, local.p50),
                ),
                Row(
                    **common,
                    measure=f"{shape} p99",
                    ours=http.p99,
                    baseline=local.p99,
                    ratio=ratio(http.p99, local.p99),
                ),
            ]
            details[shape] = {"http": http.__dict__, "in_process": local.__dict__}
    return rows, details
