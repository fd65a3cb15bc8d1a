"""A table's model frame views the table's numbers (one chunk per column) rather than copying them, so a batch
waiting to be scored holds its values once; the model's answers are the same."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import flmcli
from flmcli.batch import Batch
from flmcli.features import from_table, prepare
from flmcli.predictor import Predictor
from tests.helpers import CHURN, DATA


def _chunked(table: pa.Table, pieces: int) -> pa.Table:
    step = -(-table.num_rows // pieces)
    return pa.Table.from_batches([b for i in range(pieces) for b in table.slice(i * step, step).to_batches()])


def test_numbers_of_a_table_in_chunks_are_viewed_not_copied() -> None:
    predictor = Predictor(flmcli.load(CHURN))
    table = _chunked(pq.read_table(DATA).slice(0, 3000), 3)
    assert table.column("Age").num_chunks == 3
    batch = Batch(source="in.csv", table=table)
    prepare(batch, predictor.spec)
    assert batch.table is not None and batch.table.column("Age").num_chunks == 1
    frame = from_table(batch, predictor.spec)
    for name in ("Age", "Balance", "CreditScore"):
        column = batch.table.column(name).chunk(0)
        assert np.shares_memory(frame[name].to_numpy(), column.to_numpy(zero_copy_only=True)), name
    assert batch.table.equals(table)  # the same values, in one chunk
    expected = predictor.estimator.predict(table.select(list(frame.columns)).to_pandas())
    assert (predictor.estimator.predict(frame) == expected).all()
