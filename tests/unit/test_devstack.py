"""The local stack's layout: where each stack writes its service logs."""

from pathlib import Path

from devstack.stack import REPO, LocalStack


def test_logs_default_to_build_devstack() -> None:
    stack = LocalStack(store_dir=Path("/unused"), admin_token="token")
    assert stack.log_path("search") == REPO / "build" / "devstack" / "search.log"


def test_two_stacks_with_their_own_log_folders_never_share_a_log(tmp_path: Path) -> None:
    first = LocalStack(store_dir=tmp_path / "a", admin_token="token", log_dir=tmp_path / "logs-a")
    second = LocalStack(store_dir=tmp_path / "b", admin_token="token", log_dir=tmp_path / "logs-b")
    for service in ("search", "admin"):
        assert first.log_path(service) == tmp_path / "logs-a" / f"{service}.log"
        assert first.log_path(service) != second.log_path(service)
    # the runtime virtualenv is still shared: it depends only on the repository
    assert first.build_dir == second.build_dir
