"""A JSON array that the streaming parser rejects (Latin-1 bytes in a string) reads as one plain message, not
the parser's bytes repr (`b'lexical error: ...\\n  ...(right here) ------^\\n'`)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CHURN, invoke


def test_invalid_utf8_in_a_json_array_is_a_plain_message(tmp_path: Path) -> None:
    row = b'{"CreditScore": 600, "Geography": "Fr\xe9nce", "Gender": "Male", "Age": 40, "Tenure": 3}'
    (tmp_path / "rows.json").write_bytes(b"[\n" + row + b"\n]\n")
    ran = invoke("predict", CHURN, tmp_path / "rows.json")
    assert ran.returncode == 1
    err = ran.stderr.decode()
    first = err.splitlines()[0]
    assert first.startswith("Error: ") and "rows.json: row 1: invalid JSON:" in first, err
    assert "b'" not in err and "\\n" not in err and "right here" not in err, err
