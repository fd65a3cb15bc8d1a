"""flm predict takes Arrow's buffers from its jemalloc pool (less memory kept mapped than pyarrow's default
mimalloc: bench/bench_rss.py), unless the user chose a pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flmcli import job
from tests.helpers import CHURN, DATA, invoke


@pytest.fixture
def pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def _jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


@pytest.mark.skipif(not _jemalloc(), reason="pyarrow built without jemalloc")
def test_a_prediction_takes_arrow_buffers_from_jemalloc(pool: None, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    path = tmp_path / "rows.parquet"
    pq.write_table(pq.read_table(DATA).slice(0, 100), path)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 100
    assert pa.default_memory_pool().backend_name == "jemalloc"


def test_a_pool_the_user_chose_is_kept(pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    job.arrow_allocator()
    assert pa.default_memory_pool().backend_name == "mimalloc"  # as the fixture left it: not changed
