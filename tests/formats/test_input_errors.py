"""Input problems found while writing are input errors (exit 1, HTTP 400), naming the input."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from flmcli import formats
from flmcli.batch import Batch, Scored
from flmcli.errors import InputError


def scored(source: str, records: list[dict[str, object]], outputs: dict[str, list[object]]) -> Scored:
    return Scored(batch=Batch(source=source, records=records), outputs=pd.DataFrame(outputs))


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "arrow"])
def test_a_later_batch_with_new_columns(fmt: str) -> None:
    first = scored("a.ndjson", [{"x": 1}], {"prediction": [0]})
    later = scored("b.ndjson", [{"x": 1, "y": 2}], {"prediction": [1]})
    with pytest.raises(InputError, match="first appears after the output's columns were fixed") as caught:
        formats.writer(fmt)([first, later], io.BytesIO(), keep_input=True)
    assert caught.value.source == "b.ndjson" and caught.value.field == "y" and caught.value.http_status == 400


def test_a_later_batch_whose_column_changed_type() -> None:
    first = scored("a.ndjson", [{"x": 1}], {"prediction": [0]})
    later = scored("a.ndjson", [{"x": "one"}], {"prediction": [1]})
    with pytest.raises(InputError, match="is string in this batch but the output's column was fixed as int64") as caught:
        formats.writer("parquet")([first, later], io.BytesIO(), keep_input=True)
    assert caught.value.field == "x"
