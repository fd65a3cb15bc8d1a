"""A v2 infer request's JSON in the charset its Content-Type declares (utf-16, latin-1) is read from it, as a body
on Flama's routes is (tests/serve/test_declared_charset.py): it was read as UTF-8 whatever the client said ('str
is not valid UTF-8', with a hint about binary tensors), and a charset no client can mean was taken. With binary
tensors the charset is the JSON header's; the tensors after it are bytes."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from tests.helpers import CORPUS
from tests.serve.test_app import app_client

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"
BODY = {"id": "Gérard", "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",
                                    "data": [5.1, 3.5, 1.4, 0.2]}]}
PATHS = ["/v2/models/iris/infer", "/v2/models/iris/versions/1/infer"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("charset", ["utf-16", "latin-1", "utf-8"])
def test_json_in_its_declared_charset(path: str, charset: str) -> None:
    text = orjson.dumps(BODY).decode()
    with app_client({"iris": IRIS}) as client:
        plain = client.post(path, content=text.encode())
        declared = client.post(path, content=text.encode(charset),
                               headers={"content-type": f"application/json; charset={charset}"})
    assert plain.status_code == declared.status_code == 200, declared.text
    assert declared.json()["id"] == "Gérard"
    assert declared.json()["outputs"] == plain.json()["outputs"]


def test_a_binary_request_decodes_its_header_only() -> None:
    header = orjson.dumps({"id": "Gérard", "inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64",
                                                       "parameters": {"binary_data_size": 32}}]}).decode()
    data = np.array([5.1, 3.5, 1.4, 0.2], "<f8").tobytes()
    raw = header.encode("utf-16")
    with app_client({"iris": IRIS}) as client:
        response = client.post(PATHS[0], content=raw + data,
                               headers={"content-type": "application/octet-stream; charset=utf-16",
                                        "Inference-Header-Content-Length": str(len(raw))})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "Gérard"


@pytest.mark.parametrize("charset", ["rot13", "unicode_escape"])
def test_an_unknown_charset_is_415(charset: str) -> None:
    with app_client({"iris": IRIS}) as client:
        response = client.post(PATHS[0], content=orjson.dumps(BODY),
                               headers={"content-type": f"application/json; charset={charset}"})
    assert response.status_code == 415, response.text
