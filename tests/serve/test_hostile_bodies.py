"""Bodies a careless or hostile client sends: empty, mislabelled, compressed bombs, exploding Parquet, huge
bad values, large bodies that must not stall the event loop, headers that never end."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import socket
import time
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.serve.servers import running_server

# the module's real server starts once, on one xdist worker
pytestmark = pytest.mark.xdist_group("serve-hostile")

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 (not yet on PyPI for us); the TestClient itself works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"
IRIS = ROOT / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"
CHURN_NAMES = ["RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure",
               "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary"]
LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    app = create_app({"churn": Predictor.from_path(CHURN), "iris": Predictor.from_path(IRIS)}, max_body_size=LIMIT)
    with TestClient(app) as test_client:
        yield test_client


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["error"]
    return message


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson", "text/csv",
                                          "application/vnd.apache.parquet", "application/vnd.apache.arrow.stream"])
def test_empty_body_is_400(client: TestClient, content_type: str) -> None:
    for body in (b"", b"  \n"):
        response = client.post("/iris/predict/", content=body, headers={"Content-Type": content_type})
        assert "empty body" in _error(response, 400)
    assert "empty body" in _error(client.post("/v2/models/iris/infer", content=b""), 400)


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/csv", b'{"input": [[1, 2, 3, 4]]}'),
    ("text/tab-separated-values", b"[[1, 2, 3, 4]]"),
    ("application/vnd.apache.parquet", b'{"input": [[1, 2, 3, 4]]}'),
    ("application/vnd.apache.arrow.stream", b"a,b\n1,2\n"),
    ("application/json", b"PAR1\x00\x00PAR1"),
])
def test_body_that_is_not_its_content_type_is_400(client: TestClient, content_type: str, body: bytes) -> None:
    response = client.post("/iris/predict/", content=body, headers={"Content-Type": content_type})
    assert "Content-Type" in _error(response, 400)


def test_gzip_bomb_is_413_after_at_most_the_limit(client: TestClient) -> None:
    bomb = gzip.compress(b"[" + b" " * (50 * LIMIT) + b"]", 9)
    assert len(bomb) < LIMIT / 10
    response = client.post("/iris/predict/", content=bomb, headers={"Content-Encoding": "gzip"})
    assert "inflates past the limit" in _error(response, 413)
    response = client.post("/v2/models/iris/infer", content=bomb, headers={"Content-Encoding": "gzip"})
    assert "inflates past the limit" in _error(response, 413)


def test_compressed_bodies_decoded_or_refused(client: TestClient) -> None:
    body = b'{"input": [[5.1, 3.5, 1.4, 0.2]]}'
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                             ("gzip", gzip.compress(body[:10]) + gzip.compress(body[10:]))):
        response = client.post("/iris/predict/", content=packed, headers={"Content-Encoding": encoding})
        assert response.status_code == 200 and response.json() == {"output": [0]}, response.text
    assert "Content-Encoding" in _error(
        client.post("/iris/predict/", content=body, headers={"Content-Encoding": "br"}), 415)
    assert "ends before" in _error(
        client.post("/iris/predict/", content=gzip.compress(body)[:-12], headers={"Content-Encoding": "gzip"}), 400)
    assert "cannot decompress" in _error(
        client.post("/iris/predict/", content=b"not gzip at all", headers={"Content-Encoding": "gzip"}), 400)


def _parquet(table: Any, **options: Any) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


def test_parquet_that_decodes_past_the_limit_is_413(client: TestClient) -> None:
    """A dictionary page of one long string, repeated by tiny indices: 10 kB on the wire, 130 MB decoded."""
    import numpy as np
    import pyarrow as pa

    rows = 2000
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * 5000]))
    body = _parquet(pa.table({name: column for name in CHURN_NAMES}), store_schema=False)
    assert len(body) < LIMIT
    response = client.post("/churn/predict/", content=body,
                           headers={"Content-Type": "application/vnd.apache.parquet"})
    assert "decodes to more than the limit" in _error(response, 413)


def test_parquet_with_more_values_than_the_limit_is_413_from_its_footer(client: TestClient) -> None:
    import numpy as np
    import pyarrow as pa

    column = pa.array(np.zeros(LIMIT // 4, dtype=np.int8))
    body = _parquet(pa.table({name: column for name in CHURN_NAMES}))
    response = client.post("/churn/predict/", content=body,
                           headers={"Content-Type": "application/vnd.apache.parquet"})
    assert "values" in _error(response, 413)


def _arrow(table: Any, kind: str, compression: str | None) -> bytes:
    import pyarrow as pa

    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    writer = (pa.ipc.new_file if kind == "file" else pa.ipc.new_stream)(sink, table.schema, options=options)
    writer.write_table(table)
    writer.close()
    return sink.getvalue()


@contextlib.contextmanager
def fresh_arrow_pool() -> Iterator[Any]:
    """A fresh memory pool as pyarrow's default, so its peak shows what one request made pyarrow allocate."""
    import pyarrow as pa

    before = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(pa.system_memory_pool())
    pa.set_memory_pool(pool)
    try:
        yield pool
    finally:
        pa.set_memory_pool(before)


@pytest.mark.parametrize("kind", ["stream", "file"])
@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_compressed_arrow_that_inflates_past_the_limit_is_413_before_allocating(
        client: TestClient, kind: str, compression: str) -> None:
    """Each compressed IPC buffer declares its inflated length, and pyarrow allocates it before inflating:
    a few kB on the wire stood for 32 MB per column here."""
    import numpy as np
    import pyarrow as pa

    column = pa.array(np.zeros(4_000_000, dtype=np.int64))
    body = _arrow(pa.table({name: column for name in CHURN_NAMES}), kind, compression)
    assert len(body) < LIMIT
    with fresh_arrow_pool() as pool:
        response = client.post("/churn/predict/", content=body,
                               headers={"Content-Type": f"application/vnd.apache.arrow.{kind}"})
    assert "the Arrow body decodes to more than the limit" in _error(response, 413)
    assert pool.max_memory() < LIMIT


def test_arrow_with_more_rows_than_the_limit_is_413_from_its_metadata(client: TestClient) -> None:
    import pyarrow as pa

    body = _arrow(pa.table({name: pa.nulls(10**9) for name in CHURN_NAMES}), "stream", None)
    assert len(body) < 4096  # the null type has no buffers: a billion rows in a few bytes
    with fresh_arrow_pool() as pool:
        response = client.post("/churn/predict/", content=body,
                               headers={"Content-Type": "application/vnd.apache.arrow.stream"})
    assert "values" in _error(response, 413)
    assert pool.max_memory() < LIMIT


@pytest.mark.parametrize("kind", ["stream", "file"])
def test_compressed_arrow_within_the_limit_answers_as_uncompressed(client: TestClient, kind: str) -> None:
    import pyarrow as pa

    rows = [[10000 + i, 15628319, "Walker", 792, "France", "Female", 28 + i % 40, 4, 130142.79, 1, 1, i % 2,
             38190.78] for i in range(500)]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(CHURN_NAMES)})
    answers = [
        client.post("/churn/predict/", content=_arrow(table, kind, compression),
                    headers={"Content-Type": f"application/vnd.apache.arrow.{kind}", "Accept": "application/json"})
        for compression in (None, "zstd", "lz4")
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["output"] and answers[1].content == answers[0].content == answers[2].content


def test_arrow_with_hostile_metadata_is_400(client: TestClient) -> None:
    import pyarrow as pa

    body = bytearray(_arrow(pa.table({"CreditScore": [1, 2, 3]}), "stream", "zstd"))
    body[-40:-8] = b"\xff" * 32  # the record batch's buffers now point outside its body
    response = client.post("/churn/predict/", content=bytes(body),
                           headers={"Content-Type": "application/vnd.apache.arrow.stream"})
    assert "cannot read Arrow IPC" in _error(response, 400)


def test_huge_bad_value_is_cut_in_the_400(client: TestClient) -> None:
    response = client.post("/iris/predict/", json={"input": [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, "9" * 500_000 + "x", 0.2]]})
    assert response.status_code == 400 and len(response.content) < 2000, response.content[:300]
    error = response.json()["error"]
    assert error.startswith("input:2: field '#2'") and "characters cut" in error


@pytest.fixture()
def loop_probe(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bool]]:
    """Records, for each body the server parses, whether it was parsed on the event loop's thread."""
    from flmcli.serve import bodies, v2

    seen: dict[str, list[bool]] = {"json": [], "v2": []}

    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    json_batches, read = bodies.json_batches, v2._read

    def probed_json(*args: Any) -> Any:
        seen["json"].append(on_loop())
        return json_batches(*args)

    def probed_read(*args: Any) -> Any:
        seen["v2"].append(on_loop())
        return read(*args)

    monkeypatch.setattr(bodies, "json_batches", probed_json)
    monkeypatch.setattr(v2, "_read", probed_read)
    return seen


def test_large_bodies_are_parsed_off_the_event_loop(client: TestClient, loop_probe: dict[str, list[bool]]) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2]] * 20_000
    small = client.post("/iris/predict/", json={"input": rows[:1]})
    large = client.post("/iris/predict/", json={"input": rows})
    assert small.status_code == large.status_code == 200 and len(large.json()["output"]) == 20_000
    tensor = {"name": "x", "shape": [20_000, 4], "datatype": "FP64", "data": rows}
    small = client.post("/v2/models/iris/infer", json={"inputs": [dict(tensor, shape=[1, 4], data=rows[:1])]})
    large = client.post("/v2/models/iris/infer", json={"inputs": [tensor], "outputs": [{"name": "predict"}]})
    assert small.status_code == large.status_code == 200
    # A one-row body is cheaper to parse than a thread hop; a large one must not stall other clients.
    assert loop_probe == {"json": [True, False], "v2": [True, False]}


@pytest.fixture(scope="module")
def deadline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    log = tmp_path_factory.mktemp("deadline") / "server.log"
    with running_server({"iris": IRIS}, log, header_timeout=1.0) as port:
        yield port


def _one_response(sock: socket.socket) -> bytes:
    """One whole HTTP response, however many segments it came in (a single recv may return only the headers)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096) or _eof()
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096) or _eof()
    return head + b"\r\n\r\n" + body


def _eof() -> bytes:
    raise AssertionError("the server closed the connection before the whole response")


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("sent", [b"", b"POST /iris/predict/ HTTP/1.1\r\nHost: x\r\nContent-Le"],
                         ids=["nothing", "half-headers"])
def test_headers_that_never_end_lose_the_connection(deadline_server: int, sent: bytes) -> None:
    with socket.create_connection(("127.0.0.1", deadline_server)) as sock:
        sock.sendall(sent)
        # The deadline is 1 s; 20 s of slack for a loaded machine. Without a deadline the server waits forever.
        assert _closed_by_server(sock, 20)


def test_keep_alive_connection_serves_then_times_out_a_stalled_next_request(deadline_server: int) -> None:
    body = orjson.dumps({"input": [[5.1, 3.5, 1.4, 0.2]]})
    request = (b"POST /iris/predict/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", deadline_server)) as sock:
        time.sleep(0.5)  # within the deadline: a slow but honest client is served
        sock.sendall(request)
        sock.settimeout(20)
        answer = _one_response(sock)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"output":[0]}')
        sock.sendall(b"POST /iris/predict/ HTTP/1.1\r\n")
        assert _closed_by_server(sock, 20)


@pytest.mark.parametrize(("path", "body"), [
    ("/iris/predict/", b"[" * 100_000),
    ("/iris/predict/", b'{"input": [[1, 2, 3, ' + b"[" * 40_000 + b"]" * 40_000 + b"]]}"),
    ("/v2/models/iris/infer", b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": '
     + b"[" * 100_000 + b"]" * 100_000 + b"}]}"),
], ids=["predict-open", "predict-in-row", "v2"])
def test_deeply_nested_json_is_400(client: TestClient, path: str, body: bytes) -> None:
    """The formats' row nesting limit (and orjson's own) holds in the server: 400, nothing built."""
    for content_type in ("application/json", "application/x-ndjson"):
        if path.startswith("/v2") and content_type != "application/json":
            continue
        response = client.post(path, content=body, headers={"Content-Type": content_type})
        assert response.status_code == 400 and ("nested deeper" in response.text or "depth limit" in response.text)
