"""A CSV header naming two columns alike: a model that wants that column as text (codes) was 'unexpected KeyError'
(the reader asked for the type of a column by a name that is twice in the header), and any model from a live pipe
was 'unexpected ArrowInvalid' (its batches are joined with type promotion, which refuses two fields of one name).
Now a named model names the column twice, and a model of unnamed features scores the rows by position."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_csv_text_as_written import ZIPS, code_model
from tests.helpers import CORPUS, invoke, invoke_through_a_pipe

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return code_model(tmp_path_factory.mktemp("zips") / "zips.flm", ZIPS)


@pytest.mark.parametrize("rows", [2, 400_000], ids=["one-block", "past-the-first-block"])
def test_a_text_column_named_twice_is_named(zips: Path, tmp_path: Path, rows: int) -> None:
    text = b"code,x,code\n" + b"02139,1.0,00501\n" * rows
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    for ran, name in ((invoke("predict", zips, path), str(path)),
                      (invoke("predict", zips, "--from", "csv", input=text), "<stdin>"),
                      (invoke_through_a_pipe("predict", zips, "--from", "csv", input=text[:10_000]), "<stdin>")):
        assert ran.returncode == 1
        assert ran.stderr.decode() == f"Error: {name}: field 'code': the input has 2 columns of this name\n"


def test_unnamed_features_under_a_header_naming_two_alike_score_from_a_live_pipe(tmp_path: Path) -> None:
    text = b"a,a,b,c\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n7.7,3.0,6.1,2.3\n"
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    want = invoke("predict", IRIS, path)
    assert want.returncode == 0 and want.stdout == b"prediction\n0\n1\n2\n"
    ran = invoke_through_a_pipe("predict", IRIS, "--from", "csv", "--batch-size", "2", input=text)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, want.stdout, b"")
