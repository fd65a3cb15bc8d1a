"""Request headers are bounded in size whichever parser uvicorn picks: with httptools (installed by the serve extra)
nothing bounded them, and a 256 MB header was read whole (the server's RSS +270 MB for one request). Headers still
incomplete past 64 KiB are answered 431 and the connection closed; headers under it, and a large body sent with its
headers in one write, are served as before."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from flmcli.serve.protocol import MAX_HEADER_BYTES
from tests.helpers import CORPUS
from tests.serve.servers import running_server

pytestmark = pytest.mark.xdist_group("serve-header-size")

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
BODY = b'{"input": [[5.1, 3.5, 1.4, 0.2]]}'


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running_server({"iris": IRIS}, tmp_path_factory.mktemp("headers") / "server.log") as port:
        yield port


def _exchange(port: int, *parts: bytes) -> bytes:
    """Send `parts` on one connection; everything the server answers until it closes or goes quiet."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed while we were still sending: what it answered is read below
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.startswith(b"HTTP/1.1 431"):
                    break
                if b'{"output"' in answer:
                    break
        except (TimeoutError, ConnectionResetError):
            pass
    return answer


def _request(extra: bytes = b"", body: bytes = BODY) -> bytes:
    return (b"POST /iris/predict/ HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n" + extra
            + b"content-length: %d\r\n\r\n" % len(body) + body)


def test_headers_past_the_bound_are_431_and_the_connection_closed(port: int) -> None:
    line = b"X-Pad: " + b"a" * 8000 + b"\r\n"
    head = b"POST /iris/predict/ HTTP/1.1\r\nHost: x\r\n"
    answer = _exchange(port, head, *[line] * (8 * 1024 * 1024 // len(line)))  # 8 MB of headers, never ended
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"larger than 65536 bytes" in answer


def test_one_header_line_past_the_bound_is_431(port: int) -> None:
    answer = _exchange(port, _request(b"X-Pad: " + b"a" * (MAX_HEADER_BYTES + 10) + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_headers_under_the_bound_are_served(port: int) -> None:
    answer = _exchange(port, _request(b"X-Pad: " + b"a" * (MAX_HEADER_BYTES - 4096) + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'{"output":[0]}' in answer, answer[:200]


def test_a_large_body_sent_with_its_headers_is_served(port: int) -> None:
    body = b'{"input": [' + b", ".join([b"[5.1, 3.5, 1.4, 0.2]"] * 40_000) + b"]}"  # ~0.9 MB, one write
    answer = _exchange(port, _request(body=body))
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_keep_alive_requests_each_get_the_bound(port: int) -> None:
    pad = b"X-Pad: " + b"a" * (MAX_HEADER_BYTES // 2) + b"\r\n"
    first, second = _request(pad), _request(pad)  # together past the bound, each under it
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        answers = b""
        for request in (first, second):
            sock.sendall(request)
            while answers.count(b'{"output"') < (1 if request is first else 2):
                answers += sock.recv(65536) or b"!"
                assert not answers.endswith(b"!"), answers[:300]
    assert answers.count(b"HTTP/1.1 200 ") == 2, answers[:300]

