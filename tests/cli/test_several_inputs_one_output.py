"""`flm predict m.flm a.csv b.csv -o all.csv`: several inputs into a name with a format's suffix (or a file that
exists) write one file holding every row in input order, as `cat a.csv b.csv | flm predict m.flm` does; that name
made a directory `all.csv` of one file per input (and an existing file was an OSError). `-o DIR/`, a directory that
exists, or a new name without a format suffix still score each input into a file of its own."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from tests.helpers import CHURN, DATA, invoke

ROWS = 40


@pytest.fixture()
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    frame = pq.read_table(DATA).slice(0, ROWS).to_pandas().drop(columns=["Exited"])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    frame.iloc[:25].to_csv(a, index=False)
    frame.iloc[25:].to_csv(b, index=False)
    return a, b


def expected(a: Path, b: Path, fmt: str) -> bytes:
    ran = invoke("predict", CHURN, a, b, "--to", fmt)  # stdout: every row of both, in order
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


@pytest.mark.parametrize("name, fmt", [("all.csv", "csv"), ("all.ndjson", "ndjson"), ("all.JSON", "json")])
def test_a_name_with_a_format_suffix_is_one_file_of_every_row(inputs: tuple[Path, Path], name: str, fmt: str) -> None:
    a, b = inputs
    target = a.parent / name
    ran = invoke("predict", CHURN, a, b, "-o", target)
    assert ran.returncode == 0, ran.stderr
    assert target.is_file()
    assert target.read_bytes() == expected(a, b, fmt)
    if fmt == "csv":
        assert target.read_text().count("prediction") == 1  # one header
        assert len(target.read_text().splitlines()) == ROWS + 1


def test_a_columnar_name_is_one_file_too(inputs: tuple[Path, Path]) -> None:
    a, b = inputs
    target = a.parent / "all.parquet"
    ran = invoke("predict", CHURN, a, b, "-o", target, "--keep", "RowNumber")
    assert ran.returncode == 0, ran.stderr
    assert pq.read_table(target).column("RowNumber").to_pylist() == list(range(1, ROWS + 1))


def test_an_existing_file_is_replaced_by_one_file(inputs: tuple[Path, Path]) -> None:
    a, b = inputs
    target = a.parent / "scored"
    target.write_bytes(b"old\n")
    ran = invoke("predict", CHURN, a, b, "-o", target, "--to", "ndjson")
    assert ran.returncode == 0, ran.stderr
    assert target.read_bytes() == expected(a, b, "ndjson")
    assert len([orjson.loads(line) for line in target.read_bytes().splitlines()]) == ROWS


@pytest.mark.parametrize("kind", ["trailing-slash", "existing-dir", "new-name-without-suffix"])
def test_a_directory_is_still_one_file_per_input(inputs: tuple[Path, Path], kind: str) -> None:
    a, b = inputs
    directory = a.parent / ("out.csv" if kind != "new-name-without-suffix" else "scored")
    if kind == "existing-dir":
        directory.mkdir()
    target = f"{directory}/" if kind == "trailing-slash" else str(directory)
    ran = invoke("predict", CHURN, a, b, "-o", target)
    assert ran.returncode == 0, ran.stderr
    assert sorted(path.name for path in directory.iterdir()) == ["a.csv", "b.csv"]


def test_one_file_that_is_an_input_is_refused(inputs: tuple[Path, Path]) -> None:
    a, b = inputs
    before = b.read_bytes()
    ran = invoke("predict", CHURN, a, b, "-o", b)
    assert ran.returncode == 2 and b"would replace the input" in ran.stderr, ran.stderr
    assert b.read_bytes() == before
