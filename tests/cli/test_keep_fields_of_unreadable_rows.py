"""--keep (and --keep-input) under --on-error null for a row that could not be read at all:
- an NDJSON line that is not JSON wrote `{}` for its kept fields, so that output row lacked the kept keys the
  others have: they are now null, next to the row's error field;
- a CSV row of the wrong width wrote the kept fields of ANOTHER row (the good row whose copy holds the bad row's
  place in the table, so its column types stay): a wrong id next to the error. They are null, in every output
  format, and the rows around it keep their own."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke

BAD = (0, 4, 1500, 2999)  # the first row, a row of the first batch, one mid-way, the last


def _rows() -> list[dict[str, Any]]:
    table = pq.read_table(DATA).drop_columns(["Exited"]).slice(0, 3000)
    return [{"id": i, **row} for i, row in enumerate(table.to_pylist())]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("unreadable")
    rows = _rows()
    ndjson, text = folder / "rows.ndjson", io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(rows[0].keys())
    with ndjson.open("wb") as out:
        for i, row in enumerate(rows):
            if i in BAD:
                out.write(b'{"id": %d, not json\n' % i)
                writer.writerow([i, 1, 2])  # three fields of fourteen
            else:
                out.write(orjson.dumps(row) + b"\n")
                writer.writerow(row.values())
    (folder / "rows.csv").write_text(text.getvalue())
    return {"ndjson": ndjson, "csv": folder / "rows.csv"}


def _read(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".ndjson":
        return [orjson.loads(line) for line in path.read_bytes().splitlines()]
    if path.suffix == ".json":
        return orjson.loads(path.read_bytes())  # type: ignore[no-any-return]
    if path.suffix == ".csv":
        with path.open() as text:
            return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(text)]
    if path.suffix == ".arrow":
        data = path.read_bytes()
        opened = pa.ipc.open_file(pa.py_buffer(data)) if data[:6] == b"ARROW1" else pa.ipc.open_stream(data)
        return opened.read_all().to_pylist()  # type: ignore[no-any-return]
    return pq.read_table(path).to_pylist()  # type: ignore[no-any-return]


@pytest.mark.parametrize("to", ["ndjson", "json", "csv", "parquet", "arrow"])
@pytest.mark.parametrize("given", ["ndjson", "csv"])
def test_kept_fields_of_an_unreadable_row_are_null(inputs: dict[str, Path], tmp_path: Path, given: str,
                                                     to: str) -> None:
    out = tmp_path / f"scored.{to}"
    ran = invoke("predict", CHURN, inputs[given], "--on-error", "null", "--keep", "id,Surname",
                 "--batch-size", "700", "-o", out)
    assert ran.returncode == 0, ran.stderr
    rows = _read(out)
    surnames = [row["Surname"] for row in _rows()]
    assert len(rows) == 3000
    for i, row in enumerate(rows):
        # JSON and NDJSON write the error field on the rows that have one; the tables have the column throughout
        assert set(row) - {"error"} == {"id", "Surname", "prediction"}, (i, row)
        if i in BAD:
            assert (row["id"], row["Surname"], row["prediction"]) == (None, None, None), (i, row)
            assert row["error"] and f":{i + 2 if given == 'csv' else i + 1}:" in row["error"], (i, row)
        else:
            assert str(row["id"]) == str(i) and row["Surname"] == surnames[i] and row.get("error") is None, (i, row)


def test_keep_input_does_not_copy_another_rows_fields(inputs: dict[str, Path]) -> None:
    ran = invoke("predict", CHURN, inputs["csv"], "--on-error", "null", "--keep-input", "--to", "ndjson",
                 "--batch-size", "700")
    assert ran.returncode == 0, ran.stderr
    rows = [orjson.loads(line) for line in ran.stdout.splitlines()]
    for i in BAD:
        assert rows[i]["error"] and all(value is None for key, value in rows[i].items() if key != "error"), rows[i]
    assert [rows[i]["id"] for i in (1, 5, 1499, 1501, 2998)] == [1, 5, 1499, 1501, 2998]
