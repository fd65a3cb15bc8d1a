"""`-o` naming something that is not a regular file (a FIFO, a device such as /dev/stdout or /dev/null) writes
into it; a symbolic link to a file is followed. The atomic rename used for files replaced the FIFO or device
node itself with a regular file (as root, `-o /dev/null` turned the machine's /dev/null into a file), and a
link with a file. The tests use a FIFO and links in a temporary folder, never /dev itself."""

from __future__ import annotations

import os
import select
import stat
import time
from pathlib import Path

import pandas as pd

from flmcli.atomic import atomic_write
from tests.helpers import CHURN, DATA, invoke


def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    pd.read_parquet(DATA).head(5).to_csv(path, index=False)
    return path


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.ndjson"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it to write never blocks
    try:
        ran = invoke("predict", CHURN, rows(tmp_path), "-o", fifo)
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not select.select([reader], [], [], 0.5)[0]:
                break
            chunk = os.read(reader, 1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(reader)
    assert ran.returncode == 0, ran.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert data.count(b'"prediction"') == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_link_to_a_file_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.ndjson"
    target.write_text("old\n")
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)
    ran = invoke("predict", CHURN, rows(tmp_path), "-o", link)
    assert ran.returncode == 0, ran.stderr
    assert link.is_symlink()
    assert target.read_text().count('"prediction"') == 5


def test_atomic_write_into_a_character_device_keeps_it(tmp_path: Path) -> None:
    # /dev/null through a link of our own: the link and the device must both stay what they are.
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    with atomic_write(link) as out:
        out.write(b"discarded\n")
    assert link.is_symlink()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert os.path.getsize("/dev/null") == 0
