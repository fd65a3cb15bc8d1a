"""An error line stays one line and cannot drive the terminal: control characters in what it echoes (a file name
from a glob, `evil\\n\\x1b[31m.csv`) are shown escaped. They went to stderr raw, splitting the line and
colouring the terminal."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CHURN, invoke


def test_a_hostile_file_name_is_escaped_in_the_error_line(tmp_path: Path) -> None:
    name = tmp_path / "evil\n\x1b[31mname.ndjson"
    name.write_bytes(b'{"Age": "old"}\n')
    ran = invoke("predict", CHURN, name)
    assert ran.returncode == 1
    err = ran.stderr.decode()
    assert "\x1b" not in err
    lines = err.splitlines()
    assert lines[0].startswith("Error: ") and "evil\\n\\x1b[31mname.ndjson:1:" in lines[0], err
    assert all(line.startswith(("Error: ", "Hint: ")) for line in lines), err
