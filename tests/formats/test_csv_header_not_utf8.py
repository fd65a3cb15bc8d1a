"""A CSV header that is not UTF-8 (a Latin-1 'café') is one error naming line 1 and saying so, from a small file,
a file past the reader's first block, stdin, a live pipe, TSV and a server body: the file and pipe paths failed
with "unexpected UnicodeDecodeError" (pyarrow cannot decode the column names the reader asked for). Gzip bytes
given as `--from csv` on a pipe are named as such, as they are from a file. A header holding a quote as well (which
sends the rows to the search for line ends in quoted values) failed the same way, in the CLI and as a 500 served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

LATIN1 = b"caf\xe9,x\n" + b"1,2\n" * 3
QUOTED = b'caf\xe9,"x""y"\n' + b"1,2\n" * 3  # a quoted name, with a quote in it
HINT = "Hint: convert the file to UTF-8 first"


@pytest.mark.parametrize("rows", [3, 600_000], ids=["one-block", "past-the-first-block"])
def test_from_a_file(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"caf\xe9,x\n" + b"1,2\n" * rows)
    ran = invoke("predict", CHURN, path)
    assert ran.returncode == 1
    assert ran.stderr.decode().splitlines() == [f"Error: {path}:1: the header: the text is not UTF-8",
                                                HINT + " (iconv -f latin1 -t utf-8, say)"]


@pytest.mark.parametrize("fmt, text", [("csv", LATIN1), ("tsv", LATIN1.replace(b",", b"\t"))])
def test_from_stdin_and_a_live_pipe(fmt: str, text: bytes) -> None:
    for ran in (invoke("predict", CHURN, "--from", fmt, input=text),
                invoke_through_a_pipe("predict", CHURN, "--from", fmt, input=text)):
        assert ran.returncode == 1
        assert ran.stderr.decode().startswith("Error: <stdin>:1: the header: the text is not UTF-8\n" + HINT)


def test_gzip_on_a_pipe_given_as_csv_is_named() -> None:
    import gzip

    ran = invoke_through_a_pipe("predict", CHURN, "--from", "csv", input=gzip.compress(b"a,b\n1,2\n"))
    assert ran.returncode == 1
    assert ran.stderr.decode().startswith("Error: <stdin>: the input is gzip-compressed\n")


def test_a_server_body() -> None:
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        answer = client.post("/predict/", content=LATIN1, headers={"content-type": "text/csv"})
    assert answer.status_code == 400
    assert "the header: the text is not UTF-8" in answer.json()["error"]


@pytest.mark.parametrize("text", [QUOTED, b'caf\xe9,x"y\n1,2\n'], ids=["quoted-name", "bare-quote"])
def test_a_header_with_a_quote_too(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    for ran, where in ((invoke("predict", CHURN, path), str(path)), (invoke("predict", CHURN, "--from", "csv",
                                                                            input=text), "<stdin>")):
        assert ran.returncode == 1
        assert ran.stderr.decode().splitlines()[0] == f"Error: {where}:1: the header: the text is not UTF-8"
    from starlette.testclient import TestClient

    from flmcli.predictor import Predictor
    from flmcli.serve.app import create_app

    with TestClient(create_app(Predictor.from_path(CHURN))) as client:
        answer = client.post("/predict/", content=text, headers={"content-type": "text/csv"})
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "input:1: the header: the text is not UTF-8"}
