"""Local-directory store: keys stay inside the root; conditional writes hold across processes."""

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecsearch.adapters.storage import store_from_url
from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core.keys import key_problem

SRC = Path(__file__).resolve().parents[2] / "src"

INCREMENTER = """
import sys
from pathlib import Path
from typing import Any
from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core.store import PreconditionFailed

store = LocalDirectoryStore(Path(sys.argv[1]))
done = 0
while done < int(sys.argv[2]):
    data, tag = store.get_tagged("counter")
    try:
        store.put_if_match("counter", str(int(data) + 1).encode(), tag)
    except PreconditionFailed:
        continue
    done += 1
"""


def test_conditional_increments_from_several_processes_are_never_lost(tmp_path: Path) -> None:
    store = LocalDirectoryStore(tmp_path / "store")
    store.put("counter", b"0")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENTER, str(store.root), "25"],
            env={"PYTHONPATH": str(SRC)},
        )
        for _ in range(3)
    ]
    assert [worker.wait() for worker in workers] == [0, 0, 0]
    assert store.get("counter") == b"75"
    assert store.list("") == ["counter"]  # no temporary files left behind


segment = st.text(alphabet="ab./\\\x00", min_size=0, max_size=4)


@given(st.lists(segment, min_size=1, max_size=4).map("/".join))
def test_every_accepted_key_stays_inside_the_root(key: str) -> None:
    root = Path("/srv/store")
    problem = key_problem(key)
    if problem is None:
        resolved = (root / key).resolve()
        assert resolved.is_relative_to(root)
        assert resolved != root
        assert not any(part.startswith(".") for part in key.split("/"))


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "a/../../b", "a//b", ".hidden", ""])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalDirectoryStore(tmp_path / "store")
    with pytest.raises(ValueError, match="invalid store key"):
        store.put(key, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_store_urls(tmp_path: Path) -> None:
    store = store_from_url(f"file://{tmp_path}/data")
    assert isinstance(store, LocalDirectoryStore)
    assert store.root == tmp_path / "data"
    for url in ["file://relative/path", "ftp://x/y", "s3:///no-bucket", str(tmp_path)]:
        with pytest.raises(ValueError, match="store URL"):
            store_from_url(url)


def test_a_write_survives_a_concurrent_delete_pruning_its_folder(
    local_store: LocalDirectoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a delete that prunes the (empty) folder right after the write created it
    real_mkstemp = tempfile.mkstemp
    pruned = []

    def mkstemp_after_a_concurrent_prune(**options: Any) -> tuple[int, str]:
        if not pruned:
            pruned.append(options["dir"])
            Path(options["dir"]).rmdir()
        return real_mkstemp(**options)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_after_a_concurrent_prune)
    # when the write goes on, then it lands anyway
    local_store.put_if_absent("collections/c/pending/b1.json", b"batch")
    assert pruned
    assert local_store.get("collections/c/pending/b1.json") == b"batch"
