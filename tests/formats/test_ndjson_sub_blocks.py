"""NDJSON batches parsed SUB_LINES lines at a time are the batches parsed whole: the same typed columns (or the same
decoded rows where the typed columns do not hold), from a file, a pipe or memory, live or not, and `flm predict`
writes the same bytes, messages and exit status. Parts that are refused or type a column otherwise than the
parts before them (drift within a batch) send the batch's whole text the way it went before."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flmcli.batch import Batch
from flmcli.formats import json_columns, ndjson_arrow, open_input
from tests.formats.live import answered_one_by_one
from tests.formats.model_calls import each_input_scored_once, each_model_loaded_once
from tests.formats.test_columnar_parity import CASES, churn_case, churn_rows, lines
from tests.helpers import CHURN, invoke, invoke_through_a_pipe

WHOLE = 10**9  # SUB_LINES beyond any batch: every batch parsed whole, as before parts


@pytest.fixture(autouse=True, scope="module")
def _models_once() -> Iterator[dict[str, int]]:
    with each_model_loaded_once(), each_input_scored_once() as counts:
        yield counts


def part_case(name: str) -> bytes:
    """Inputs whose oddity falls in a later part of a batch (parts of 3 lines, batches of 16)."""
    rows = [dict(row) for row in churn_rows()]
    if name == "drift_in_a_later_part":  # ints in the first parts, a float in the fourth: one float column
        rows[10]["Age"] = 41.5
        rows[27]["Balance"] = 7
        return lines(rows)
    if name == "string_meets_number_in_a_later_part":
        rows[13]["Geography"] = 5
        return lines(rows)
    if name == "other_keys_in_a_later_part":  # parts typed alike but keyed otherwise: not one table
        for row in rows[6:9]:
            row["Agee"] = row.pop("Age")
        return lines(rows)
    if name == "reordered_keys_in_a_later_part":
        for i in range(6, 9):
            rows[i] = dict(reversed(list(rows[i].items())))
        return lines(rows)
    if name == "blank_in_a_later_part":
        text = lines(rows).split(b"\n")
        text.insert(11, b"")
        return b"\n".join(text)
    if name == "bad_json_in_the_last_part":
        text = lines(rows).split(b"\n")
        text[38] = text[38][:-3]
        return b"\n".join(text)
    if name == "big_integer_in_a_later_part":  # an int column holding 2**62 meets floats in the next part
        for i, row in enumerate(rows):
            row["CustomerId"] = 2**62 + i if i < 8 else row["CustomerId"] + 0.5
        return lines(rows)
    if name == "no_final_newline":
        return lines(rows).rstrip(b"\n")
    raise AssertionError(name)


PART_CASES = ("drift_in_a_later_part", "string_meets_number_in_a_later_part", "other_keys_in_a_later_part",
              "reordered_keys_in_a_later_part", "blank_in_a_later_part", "bad_json_in_the_last_part",
              "big_integer_in_a_later_part", "no_final_newline")


def text_of(case: str) -> bytes:
    return part_case(case) if case in PART_CASES else churn_case(case)


def same_batches(parted: list[Batch], whole: list[Batch]) -> None:
    assert [len(b) for b in parted] == [len(b) for b in whole]
    for p, w in zip(parted, whole):
        assert (p.table is None) == (w.table is None)
        if p.table is not None and w.table is not None:
            assert p.table.schema == w.table.schema
            assert p.table.equals(w.table)
        assert p.first_row == w.first_row
        pd, wd = (p.fallback() if p.fallback else p), (w.fallback() if w.fallback else w)
        assert repr(pd.records) == repr(wd.records)  # repr: NaN rows compare equal too
        assert list(pd.lines or ()) == list(wd.lines or ())


def read_all(source: Any, size: int) -> list[Batch]:
    try:
        return list(ndjson_arrow.read(source, source="s", batch_size=size))
    except Exception as error:  # noqa: BLE001 - both ways must fail alike
        return [Batch(source="s", records=[f"{type(error).__name__}: {error}"])]


@pytest.mark.parametrize("case", CASES + PART_CASES)
@pytest.mark.parametrize("size", [16, 40, 1000])
def test_parts_make_the_batches_a_whole_parse_makes(case: str, size: int, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = text_of(case)
    path = tmp_path / "rows.ndjson"
    path.write_bytes(text)
    got = {}
    for sub in (3, WHOLE):
        monkeypatch.setattr(ndjson_arrow, "SUB_LINES", sub)
        with open_input(str(path)) as opened:  # a regular file: parts read again from it to name a bad row
            from_file = read_all(opened.fp, size)
        got[sub] = (from_file, read_all(io.BytesIO(text), size))
    same_batches(got[3][0], got[WHOLE][0])
    same_batches(got[3][1], got[WHOLE][1])


def test_parts_are_parsed_a_part_at_a_time_and_their_text_not_kept(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson_arrow, "SUB_LINES", 4)
    parsed: list[int] = []
    parse = json_columns.parse_objects

    def counting(text: bytes, lines: int) -> Any:
        parsed.append(lines)
        return parse(text, lines)

    monkeypatch.setattr(json_columns, "parse_objects", counting)
    path = tmp_path / "rows.ndjson"
    path.write_bytes(lines(churn_rows() + churn_rows()[:2]))
    with open_input(str(path)) as opened:
        batches = list(ndjson_arrow.read(opened.fp, source=opened.name, batch_size=16))
    assert [len(b) for b in batches] == [16, 16, 10]
    assert parsed == [4] * 10 + [2]  # 42 lines, 4 at a time and the last 2 at the end; none parsed twice
    assert all(b.table is not None and b.fallback is not None for b in batches)
    assert not any(isinstance(arg, bytes | list) for b in batches for arg in getattr(b.fallback, "args", ()))


def test_a_refused_part_sends_the_next_batches_past_json_columns_as_a_refused_batch_did(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson_arrow, "SUB_LINES", 4)
    rows = [dict(row) for row in churn_rows()] * 8  # 320 rows, 20 batches of 16
    rows[5] = {**rows[5], "Age": [41]}  # nested: json_columns refuses the second part of the first batch
    calls: list[int] = []
    parse = json_columns.parse_objects

    def counting(text: bytes, lines: int) -> Any:
        calls.append(lines)
        return parse(text, lines)

    monkeypatch.setattr(json_columns, "parse_objects", counting)
    batches = list(ndjson_arrow.read(io.BytesIO(lines(rows)), source="s", batch_size=16))
    assert len(batches) == 20
    # batch 1: two parts tried; batches 2-8 skip json_columns (_Tries.SKIP); from batch 9 on, parts again
    assert calls == [4, 4] + [4] * 4 * 12


@pytest.mark.parametrize("pieces", [[5, 7, 3, 12], [1, 2, 9], [8, 8]])
def test_a_live_pipe_that_pauses_gets_the_lines_it_sent_as_one_batch(pieces: list[int],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson_arrow, "SUB_LINES", 3)
    rows = churn_rows()
    sent, at = [], 0
    for n in pieces:
        sent.append(lines(rows[at : at + n]))
        at += n
    got = answered_one_by_one(
        lambda fp: ndjson_arrow.read(fp, source="<pipe>", batch_size=1000, max_delay=0.01), sent)
    assert [len(b) for b in got] == pieces
    whole = [ndjson_arrow._batch(piece, n, 1, "s", ndjson_arrow._Tries(), True) for piece, n in zip(sent, pieces)]
    for batch, expected in zip(got, whole):
        assert batch.table is not None and expected is not None and expected.table is not None
        assert batch.table.equals(expected.table)


@pytest.mark.parametrize("case", ["clean", "drift_in_a_later_part", "other_keys_in_a_later_part", "refused",
                                  "blank_in_a_later_part", "bad_json_in_the_last_part", "null"])
@pytest.mark.parametrize("to", ["ndjson", "csv", "parquet"])
@pytest.mark.parametrize("on_error", ["fail", "null", "skip"])
def test_flm_predict_writes_the_same_with_parts(case: str, to: str, on_error: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    text = text_of(case)
    path = tmp_path / "rows.ndjson"
    path.write_bytes(text)
    args = ["predict", str(CHURN), "--batch-size", "16", "--to", to, "--on-error", on_error]
    got = {}
    for sub in (3, WHOLE):
        monkeypatch.setattr(ndjson_arrow, "SUB_LINES", sub)
        got[sub] = (invoke(*args, path), invoke_through_a_pipe(*args, input=text))
    for parted, whole in zip(got[3], got[WHOLE]):
        assert (parted.returncode, parted.stderr) == (whole.returncode, whole.stderr)
        assert parted.stdout == whole.stdout
    if case == "clean" and to == "ndjson":
        assert len(got[3][0].stdout.splitlines()) == 40


def test_a_file_changed_before_a_refused_part_is_refused_not_parsed_as_other_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts before a refused one are read again from the file to parse the batch whole: if the file was
    written to meanwhile, those are not the lines read, and the input is refused as changed."""
    from flmcli.errors import InputError

    monkeypatch.setattr(ndjson_arrow, "SUB_LINES", 4)
    path = tmp_path / "rows.ndjson"
    text = churn_case("clean")
    path.write_bytes(text)
    parse = json_columns.parse_objects
    calls: list[int] = []

    def rewriting(part: bytes, count: int) -> Any:
        calls.append(count)
        if len(calls) == 2:  # the first part is typed and let go; the file then changes, and this part is refused
            with open(path, "r+b") as rewrite:
                rewrite.write(text[:1000].replace(b"\n", b" "))
            return None
        return parse(part, count)

    monkeypatch.setattr(json_columns, "parse_objects", rewriting)
    with open_input(str(path)) as opened, pytest.raises(InputError, match="changed while it was read") as caught:
        list(ndjson_arrow.read(opened.fp, source=opened.name, batch_size=16))
    assert caught.value.line == 1
