"""Arrow IPC input: what a compressed batch declares is checked, message by message, before pyarrow allocates it."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from flmcli.formats import arrow_format, arrow_limits
from tests.helpers import CHURN, DATA, invoke

MIB = 1 << 20


def churn(rows: int = 1000) -> pa.Table:
    return pq.read_table(DATA).slice(0, rows).replace_schema_metadata(None)


def padded(rows: int = 1100) -> pa.Table:
    """Churn rows and a column of 8 KiB of zeros each: 8.6 MiB that zstd keeps in a few kB."""
    zeros = pa.array([bytes(8192)] * rows, pa.binary(8192))
    return churn(rows).append_column("pad", zeros)


def ipc_bytes(table: pa.Table, kind: str, compression: str | None, batch: int | None = None) -> bytes:
    sink = io.BytesIO()
    options = ipc.IpcWriteOptions(compression=compression)
    new = ipc.new_file if kind == "file" else ipc.new_stream
    with new(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=batch)
    return sink.getvalue()


@pytest.fixture
def low_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrow_limits, "FLOOR", 1 * MIB)


@pytest.mark.usefixtures("low_floor")
@pytest.mark.parametrize("kind", ["stream", "file"])
def test_a_batch_declaring_far_more_than_its_body_is_refused(tmp_path: Path, kind: str) -> None:
    body = ipc_bytes(padded(), kind, "zstd")
    assert len(body) < 200_000
    path = tmp_path / f"padded.{'arrows' if kind == 'stream' else 'arrow'}"
    path.write_bytes(body)
    for ran in (invoke("predict", CHURN, path), invoke("predict", CHURN, "--from", "arrow", "-", input=body)):
        assert ran.returncode == 1, ran.stdout[:200]
        first = ran.stderr.decode().splitlines()[0]
        assert "declares 8 MiB from a body of" in first and "more than 64 times its size" in first, first
        assert ran.stdout in (b"", b"[]\n", b"[]")


@pytest.mark.usefixtures("low_floor")
def test_a_stream_with_dictionaries_is_checked_too() -> None:
    table = padded()
    table = table.set_column(2, "Surname", table.column("Surname").dictionary_encode())
    with pytest.raises(Exception, match="more than 64 times its size"):
        list(arrow_format.read(io.BytesIO(ipc_bytes(table, "stream", "zstd")), source="body", batch_size=100))


@pytest.mark.usefixtures("low_floor")
def test_an_in_memory_file_is_checked_too() -> None:
    with pytest.raises(Exception, match="more than 64 times its size"):
        list(arrow_format.read(io.BytesIO(ipc_bytes(padded(), "file", "lz4")), source="body", batch_size=100))


@pytest.mark.usefixtures("low_floor")
@pytest.mark.parametrize("kind", ["stream", "file"])
@pytest.mark.parametrize("compression", [None, "zstd", "lz4"])
def test_ordinary_files_read_as_before(kind: str, compression: str | None) -> None:
    """Several batches, a dictionary column (dictionary messages), nulls; uncompressed ones far above the floor."""
    table = churn(3000)
    gender = table.column("Gender").dictionary_encode()
    table = table.set_column(table.column_names.index("Gender"), "Gender", gender)
    balance = table.column("Balance").to_pylist()
    balance[::5] = [None] * len(balance[::5])
    table = table.set_column(table.column_names.index("Balance"), "Balance", pa.array(balance))
    if compression is None:
        table = table.append_column("text", pa.array([b"x" * 1024] * 3000))  # 3 MiB, above the floor
    body = ipc_bytes(table, kind, compression, batch=700)
    read = list(arrow_format.read(io.BytesIO(body), source="body", batch_size=1000))
    assert pa.concat_tables(b.table for b in read if b.table is not None).equals(table)


@pytest.mark.parametrize("dictionary", [False, True])
def test_checked_stream_batches_are_pyarrows(dictionary: bool) -> None:
    table = churn(2500)
    if dictionary:  # the other path: pyarrow's reader, fed the checked messages
        table = table.set_column(2, "Surname", table.column("Surname").dictionary_encode())
    body = ipc_bytes(table, "stream", "zstd", batch=1000)
    checked = list(arrow_limits.stream_batches(io.BytesIO(body), source="body"))
    assert [b.num_rows for b in checked] == [1000, 1000, 500]
    assert pa.Table.from_batches(checked).equals(ipc.open_stream(body).read_all())


def test_a_stream_cut_short_is_one_line() -> None:
    body = ipc_bytes(churn(2500), "stream", None, batch=1000)
    ran = invoke("predict", CHURN, "--from", "arrow", "-", input=body[: len(body) // 2])
    assert ran.returncode == 1
    assert ran.stderr.decode().startswith("Error: ") and "Traceback" not in ran.stderr.decode()
