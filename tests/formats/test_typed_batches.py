"""Text parsed into typed columns (NDJSON objects, JSON arrays) is scored in larger batches by default."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import flmcli.job
from flmcli.batch import Batch
from flmcli.cli import cli
from tests.formats.test_columnar_parity import CHURN, churn_rows


@pytest.mark.parametrize("fmt", ["ndjson", "json", "json-kept"])
@pytest.mark.parametrize("given", [None, 5])
def test_batch_size(fmt: str, given: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = churn_rows()
    source = tmp_path / ("rows.ndjson" if fmt == "ndjson" else "rows.json")
    if fmt == "ndjson":
        source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    else:
        source.write_bytes(orjson.dumps([list(row.values()) for row in rows]))
    sizes: list[int] = []
    original = flmcli.job.prefetch

    def recorded(batches: Iterable[Batch]) -> Iterator[Batch]:
        for batch in batches:
            sizes.append(len(batch))
            yield batch

    def recording(batches: Iterable[Batch], **options: Any) -> Any:
        return original(recorded(batches), **options)

    monkeypatch.setattr(flmcli.job, "prefetch", recording)
    monkeypatch.setattr(flmcli.job, "TYPED_BATCH_SIZE", 16)
    args = ["predict", str(CHURN), str(source)] + (["--batch-size", str(given)] if given else [])
    if fmt == "json-kept":  # kept input goes row by row, in the format's own default batches
        args += ["--keep-input"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    size = given or (16384 if fmt == "json-kept" else 16)
    assert sizes == [size] * (40 // size) + ([40 % size] if 40 % size else [])
