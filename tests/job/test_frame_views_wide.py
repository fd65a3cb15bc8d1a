"""Only the columns the model takes are made one chunk each (copied) for its frame: a wide input's other columns
stay as they were read, and what is written of them (--keep-input) is the same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import flmcli
from flmcli.batch import Batch
from flmcli.features import from_table, prepare
from flmcli.predictor import Predictor
from tests.helpers import CHURN, DATA, invoke


def _wide(rows: int, pieces: int) -> pa.Table:
    table = pq.read_table(DATA).slice(0, rows)
    for i in range(5):
        table = table.append_column(f"extra{i}", pa.array(np.arange(rows) * (i + 1)))
    step = -(-rows // pieces)
    return pa.Table.from_batches([b for i in range(pieces) for b in table.slice(i * step, step).to_batches()])


def test_other_columns_are_left_in_their_chunks() -> None:
    predictor = Predictor(flmcli.load(CHURN))
    table = _wide(3000, 3)
    batch = Batch(source="in.csv", table=table)
    prepare(batch, predictor.spec)
    assert batch.table is not None
    assert all(batch.table.column(name).num_chunks == 1 for name in predictor.spec.names or ())
    assert all(batch.table.column(f"extra{i}").num_chunks == 3 for i in range(5))
    assert batch.table.column("Exited").num_chunks == 3
    assert batch.table.equals(table)  # the same columns and values, in their order
    frame = from_table(batch, predictor.spec)
    for name in ("Age", "Balance", "CreditScore"):
        column = batch.table.column(name).chunk(0)
        assert np.shares_memory(frame[name].to_numpy(), column.to_numpy(zero_copy_only=True)), name
    expected = predictor.estimator.predict(table.select(list(frame.columns)).to_pandas())
    assert (predictor.estimator.predict(frame) == expected).all()


def test_kept_input_of_a_wide_file_is_written_as_read(tmp_path: Path) -> None:
    """Parquet row groups smaller than a batch give batches of several chunks: the kept columns, the model's and the
    others, come out as they went in."""
    table = _wide(2000, 1)
    source = tmp_path / "wide.parquet"
    pq.write_table(table, source, row_group_size=300)
    ran = invoke("predict", CHURN, source, "--keep-input", "--to", "parquet", "-o", tmp_path / "out.parquet")
    assert ran.returncode == 0, ran.stderr
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.select(table.column_names).equals(table)
    expected = flmcli.load(CHURN).estimator.predict(table.to_pandas())
    assert (out.column("prediction").to_numpy() == expected).all()
