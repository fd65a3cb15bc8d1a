"""A numeric v2 request `id` comes back as the client wrote it: orjson reads 1e2 as 100.0, an integer past 64 bits
as the nearest double (100000000000000000000000000 came back as 1e+26, a different number) and -0 as 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flmcli.predictor import Predictor
from flmcli.serve.app import create_app
from tests.helpers import CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
TENSOR = '{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}'


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Predictor.from_path(IRIS))) as client:
        yield client


def _echoed(client: TestClient, id_text: str) -> bytes:
    body = f'{{"id": {id_text}, "inputs": [{TENSOR}], "outputs": [{{"name": "predict"}}]}}'.encode()
    response = client.post("/v2/models/model/infer", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    head = response.content.split(b',"outputs"')[0]
    prefix = b'{"model_name":"model","model_version":"1","id":'
    assert head.startswith(prefix), head
    return head[len(prefix):]


@pytest.mark.parametrize("id_text", [
    "100000000000000000000000000", "1e+26", "1e2", "1E2", "-0", "0", "-0.0", "2.50", "7", "-12",
    "18446744073709551615", "18446744073709551616", "123456789012345678901234567890.000000001", "1.5e308",
    "5e-324", "1e-400",
])
def test_a_numeric_id_is_echoed_as_written(client: TestClient, id_text: str) -> None:
    assert _echoed(client, id_text) == id_text.encode()


def test_a_numeric_id_is_echoed_next_to_a_binary_tensor(client: TestClient) -> None:
    import struct

    header = b'{"id": 1e2, "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", ' \
             b'"parameters": {"binary_data_size": 32}}], "outputs": [{"name": "predict"}]}'
    body = header + struct.pack("<4d", 5.1, 3.5, 1.4, 0.2)
    response = client.post("/v2/models/model/infer", content=body,
                           headers={"Content-Type": "application/octet-stream",
                                    "Inference-Header-Content-Length": str(len(header))})
    assert response.status_code == 200, response.text
    assert b'"id":1e2,' in response.content


@pytest.mark.parametrize("id_text", ['"r-1"', '"1e2"', "null"])
def test_string_and_absent_ids_are_unchanged(client: TestClient, id_text: str) -> None:
    echoed = _echoed(client, id_text)
    if id_text == "null":
        assert len(echoed) == 38 and echoed.startswith(b'"')  # a fresh UUID
    else:
        assert echoed == id_text.encode()


def test_two_ids_are_refused(client: TestClient) -> None:
    # A key given twice is refused (tests/serve/test_v2_keys_twice.py): orjson would echo the last, Triton the first.
    body = f'{{"id": 1e2, "id": 3e0, "inputs": [{TENSOR}]}}'.encode()
    response = client.post("/v2/models/model/infer", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "field 'id': given twice" in response.json()["error"]
