"""A JSON document cut short is a syntax error (exit 1), never a complete input: Flama's `{"input": [...]}` body
without its closing brace was scored as if whole, with exit 0, from a file and from a pipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CHURN, invoke, invoke_through_a_pipe

ROW = b'[10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]'
ROWS = ROW + b"," + ROW

CUT = [
    b'{"input": [' + ROWS + b"]",  # the closing brace missing
    b'{"input": [' + ROWS + b"]\n",
    b'{"input":[' + ROWS,
    b"[" + ROWS,
    b'{"input": [' + ROWS + b"] ",
]
WHOLE = [
    b'{"input": [' + ROWS + b"]}",
    b'{"input": [' + ROWS + b"] }\n",
    b"[" + ROWS + b"]",
    b"[" + ROWS + b"]\n",
]


@pytest.mark.parametrize("body", CUT)
def test_a_document_cut_short_is_an_error(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(body)
    for ran in (invoke("predict", CHURN, path), invoke_through_a_pipe("predict", CHURN, "--from", "json", input=body)):
        assert ran.returncode == 1, (body, ran.stderr)
        assert ran.stderr.startswith(b"Error: ") and b"invalid JSON" in ran.stderr, ran.stderr
        assert b"Traceback" not in ran.stderr
        assert ran.stdout == b"[0,0]\n"  # the rows before the error are written, as for any syntax error


@pytest.mark.parametrize("body", WHOLE)
def test_a_whole_document_is_scored(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(body)
    for ran in (invoke("predict", CHURN, path), invoke_through_a_pipe("predict", CHURN, "--from", "json", input=body)):
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == b"[0,0]\n"
