"""On a Dask cluster each CSV block after the first is read with the file's header by flm's own reader: the
column of a feature trained on codes is read as text there too, so "00501" in a later block is not 501."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tests.cli.test_csv_text_as_written import ZIPS, as_csv, code_model
from tests.dask.dask_support import invoke, parts


def test_codes_with_leading_zeros_in_every_block(tmp_path: Path) -> None:
    model = code_model(tmp_path / "zips.flm", ZIPS)
    rows = ["02139", *(["10001", "2139"] * 150_000), "00501", "02139"]
    source = tmp_path / "zips.csv"
    source.write_bytes(as_csv(rows))
    result = invoke("predict", model, source, "--dask", "local", "--partition-size", "1MB", "-o", tmp_path / "out/")
    assert result.exit_code == 0, result.output
    files = parts(tmp_path / "out")
    assert len(files) > 1  # the zeros' rows are in another block than the header's
    got = [value for path in files for value in pq.read_table(path).column("prediction").to_pylist()]
    assert len(got) == len(rows)
    assert (got[0], got[1], got[2], got[-2], got[-1]) == (0, 4, 1, 2, 0)
