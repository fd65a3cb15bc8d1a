"""Reads from a pipe take what the producer has already written, up to the reader's chunk: a pipe's own buffer
(64 KiB) no longer cuts the input into pieces each parsed on its own (csv_live: one read_csv per piece)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flmcli.formats import chunks as chunks_module
from flmcli.formats.chunks import ChunkSource

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "samples" / "churn.flm"
linux_pipes = pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="no F_SETPIPE_SZ here")


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        try:
            os.close(fd)
        except OSError:
            pass


@linux_pipes
def test_a_read_takes_more_than_the_default_pipe_buffer_when_it_is_waiting(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    probe, probe_write = os.pipe()
    try:
        fcntl.fcntl(probe, fcntl.F_SETPIPE_SZ, chunks_module.PIPE_SIZE)
    except OSError:
        pytest.skip("this system refuses a wider pipe (pipe-max-size, pipe-user-pages quota)")
    finally:
        os.close(probe)
        os.close(probe_write)
    with os.fdopen(os.dup(read_end), "rb") as fp:
        source = ChunkSource(fp)
        os.set_blocking(write_end, False)
        data = bytes(range(256)) * 1200  # 300 KiB: more than a default pipe (64 KiB) holds
        written = os.write(write_end, data)
        assert written == len(data)  # the pipe held it all: the producer did not wait on the reader
        os.close(write_end)
        assert source.read() == data  # one read
        assert source.read() == b""


def test_a_read_gathers_pieces_already_waiting_and_ends_once(pipe: tuple[int, int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces smaller than the chunk (as a pipe gives them) are joined while more is ready; the end of input,
    met while gathering, is given once at the next read (a terminal's end, ^D, is not given twice)."""
    read_end, write_end = pipe
    fp = os.fdopen(os.dup(read_end), "rb")
    source = ChunkSource(fp)
    os.write(write_end, b"a,b\n1,2\n3,4\n")
    os.close(write_end)
    pieces: list[int] = []
    raw_read = source._read

    def small(size: int) -> bytes:
        piece = raw_read(min(size, 4))
        pieces.append(len(piece))
        return piece

    monkeypatch.setattr(source, "_read", small)
    try:
        assert source.read() == b"a,b\n1,2\n3,4\n"
        assert pieces == [4, 4, 4, 0]
        assert source.read() == b""
        assert pieces == [4, 4, 4, 0]  # the end was kept, not asked for again
    finally:
        fp.close()


def test_csv_from_a_pipe_is_the_file_s_output_byte_for_byte(tmp_path: Path) -> None:
    """Rows fed through a real pipe by a writer that is ahead (several chunks, gathered) come out once each, in
    order, the same bytes as from the file."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(ROOT / "data" / "data.parquet")
    path = tmp_path / "rows.csv"
    pacsv.write_csv(table, path)
    with path.open("ab") as out:  # ~3 MiB: more than one chunk, read while the producer writes on
        body = path.read_bytes().partition(b"\n")[2]
        for _ in range(3):
            out.write(body)
    flm = [sys.executable, "-m", "flmcli", "predict", str(MODEL)]
    env = {**os.environ, "FLM_WARM": "0"}
    from_file = subprocess.run([*flm, str(path)], capture_output=True, env=env, cwd=ROOT, check=True)
    with path.open("rb") as source:
        cat = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
        assert cat.stdout is not None
        from_pipe = subprocess.run(flm, stdin=cat.stdout, capture_output=True, env=env, cwd=ROOT, check=True)
        cat.stdout.close()
        assert cat.wait() == 0
    assert from_pipe.stdout == from_file.stdout
    assert from_pipe.stdout.count(b"\n") == 4 * table.num_rows + 1
