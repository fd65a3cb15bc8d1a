"""Argument-level promises of `flm predict` and `flm serve`: outputs kept apart, derived model names, short echoes."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from flmcli.cli.serve import _parse_models
from flmcli.predictor import Predictor
from tests.helpers import CHURN

ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]
NAMES = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance",
         "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]


def write(path: Path, rows: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((orjson.dumps(ROW) + b"\n") * rows)
    return path


def predict(*args: str | Path) -> click.testing.Result:
    return CliRunner().invoke(cli, ["predict", str(CHURN), *map(str, args)])


# -- several inputs into one directory -----------------------------------------------------------------------------


def test_inputs_with_the_same_name_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    a, b = write(tmp_path / "a" / "x.ndjson"), write(tmp_path / "b" / "x.ndjson", rows=3)
    result = predict(a, b, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert f"{a} and {b} would both be scored into {tmp_path / 'out' / 'x.ndjson'}" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_same_input_twice_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "x.ndjson")
    result = predict(a, a, "-o", tmp_path / "out/")
    assert result.exit_code == 2 and "would both be scored into" in result.stderr


def test_an_output_file_in_a_missing_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    # Like `sort -o`: a file name is not a request to create folders (`-o dir/` is, and is tested above).
    target = tmp_path / "missing" / "out.ndjson"
    result = predict(write(tmp_path / "x.ndjson"), "-o", target)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"Error: {target}: cannot read or write: no such file or directory"]
    assert not (tmp_path / "missing").exists()


def test_names_that_meet_only_through_to_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "x.ndjson")
    b = tmp_path / "b" / "x.json"
    b.parent.mkdir()
    b.write_bytes(orjson.dumps([ROW]))
    assert predict(a, b, "-o", tmp_path / "out", "--to", "csv").exit_code == 2
    result = predict(a, b, "-o", tmp_path / "out")  # x.ndjson and x.json: apart
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.json", "x.ndjson"]


def test_an_output_that_would_replace_an_input_is_refused(tmp_path: Path) -> None:
    a, b = write(tmp_path / "x.ndjson"), write(tmp_path / "y.ndjson")
    result = predict(a, b, "-o", tmp_path)
    assert result.exit_code == 2 and "would replace the input" in result.stderr
    assert a.read_bytes() == (orjson.dumps(ROW) + b"\n") * 2


# -- flm serve: model names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        (("model-v1.2.flm",), {"model-v1-2": "model-v1.2.flm"}),
        (("dir/churn.model.flm",), {"churn-model": "dir/churn.model.flm"}),
        (("dir/a=b.flm",), {"a-b": "dir/a=b.flm"}),
        (("..flm",), {"model": "..flm"}),
        (("churn=model-v1.2.flm",), {"churn": "model-v1.2.flm"}),
    ],
)
def test_names_derived_from_file_names_are_made_valid(given: tuple[str, ...], expected: dict[str, str]) -> None:
    assert _parse_models(given) == expected


@pytest.mark.parametrize("given", [("v1.2=model.flm",), ("a b=model.flm",), ("=model.flm",)])
def test_names_the_user_gives_are_validated(given: tuple[str, ...]) -> None:
    with pytest.raises(click.BadParameter, match="a model name may hold"):
        _parse_models(given)


def test_two_files_deriving_one_name_are_told_to_name_them() -> None:
    with pytest.raises(click.BadParameter, match="given twice .*NAME=MODEL.flm"):
        _parse_models(("a.b.flm", "x/a-b.flm"))


def test_a_derived_name_is_served() -> None:
    from starlette.testclient import TestClient

    from flmcli.serve.app import create_app

    models = _parse_models(("model-v1.2.flm",))
    predictors = {name: Predictor.from_path(CHURN) for name in models}
    with TestClient(create_app(predictors)) as client:
        response = client.post("/model-v1-2/predict/", json={"input": [ROW]})
    assert response.status_code == 200 and response.json() == {"output": [0]}


# -- echoed values are cut -----------------------------------------------------------------------------------------


HUGE = "x" * 5_000_000


def test_a_huge_bad_value_is_cut_in_the_error_line(tmp_path: Path) -> None:
    row = dict(zip(NAMES, ROW))
    row["Age"] = HUGE
    source = tmp_path / "rows.ndjson"
    source.write_bytes(orjson.dumps(dict(zip(NAMES, ROW))) + b"\n" + orjson.dumps(row) + b"\n")
    result = predict(source)
    assert result.exit_code == 1
    assert "field 'Age'" in result.stderr and "[4,999,802 characters cut]" in result.stderr  # of the repr, quotes included
    assert len(result.stderr) < 2_000


def test_a_huge_bad_value_is_cut_in_on_error_null_rows(tmp_path: Path) -> None:
    row = dict(zip(NAMES, ROW))
    row["Age"] = HUGE
    source = tmp_path / "rows.ndjson"
    source.write_bytes(orjson.dumps(dict(zip(NAMES, ROW))) + b"\n" + orjson.dumps(row) + b"\n")
    result = predict(source, "--on-error", "null")
    assert result.exit_code == 0, result.stderr[:500]
    assert len(result.stdout) < 2_000
    assert orjson.loads(result.stdout.splitlines()[1])["prediction"] is None


def test_a_huge_field_name_is_cut(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_text(",".join([*NAMES[:-1], HUGE]) + "\n" + ",".join(map(str, ROW)) + "\n")
    result = predict(source)
    assert result.exit_code == 1
    assert len(result.stderr) < 2_000


def test_a_huge_bad_value_is_cut_in_the_http_400_body() -> None:
    from starlette.testclient import TestClient

    from flmcli.serve.app import create_app

    row = list(ROW)
    row[6] = HUGE
    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        response = client.post("/predict/", json={"input": [ROW, row]})  # a good row first: the value is named
    assert response.status_code == 400
    assert len(response.content) < 2_000
