"""Cold-start probe, this project: import the search handler, answer one event (loads a version)."""

import sys
import time

started = time.monotonic()
import importlib.util  # noqa: E402
import json  # noqa: E402

spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.monotonic()


class Context:
    function_name = "vecsearch-search"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:vecsearch-search"
    aws_request_id = "bench-cold"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


with open(sys.argv[2], encoding="utf-8") as stream:
    event = json.load(stream)
response = module.handler(event, Context())
answered = time.monotonic()
module.handler(event, Context())
second = time.monotonic()
print(
    json.dumps(
        {
            "started": started,
            "imported": imported,
            "answered": answered,
            "second": second,
            "status": response["statusCode"],
        }
    )
)
