"""Open Inference Protocol v2 as real clients speak it: tritonclient (binary tensors, compression, versions,
classification) and the generated open-inference client, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.serve.servers import running_server

# the module's real server starts once, on one xdist worker
pytestmark = pytest.mark.xdist_group("serve-v2")

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "samples" / "churn.flm"  # fitted on a named frame: one input per feature, mixed types
IRIS = ROOT / "tests" / "data" / "flm-corpus" / "flama-2.2.2_iris-logreg_zstd_p2.flm"  # a 4-feature matrix
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3], [5.0, 3.4, 1.5, 0.2]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("v2") / "server.log"
    with running_server({"churn": CHURN, "iris": IRIS}, log) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def predictors() -> dict[str, Any]:
    from flmcli.predictor import Predictor

    return {"churn": Predictor.from_path(CHURN), "iris": Predictor.from_path(IRIS)}


@pytest.fixture(scope="module")
def churn_rows() -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(ROOT / "data" / "data.parquet").slice(0, 6).to_pylist()  # type: ignore[no-any-return]


@pytest.fixture()
def triton(server: str) -> Iterator[Any]:
    import tritonclient.http as th

    client = th.InferenceServerClient(url=server, network_timeout=60, connection_timeout=60)
    try:
        yield client
    finally:
        client.close()


def _expected(predictor: Any, rows: Any, method: str) -> np.ndarray:
    from flmcli.batch import Batch

    scored = predictor.score(Batch(source="test", records=list(rows)), method=method)
    values: np.ndarray = scored.outputs.to_numpy()
    return values.reshape(-1) if scored.flat else values


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT64"])
def test_tritonclient_matrix_in_every_numeric_type(triton: Any, predictors: dict[str, Any], binary: bool,
                                                   datatype: str) -> None:
    import tritonclient.http as th

    rows = np.array(IRIS_ROWS)
    if datatype == "INT64":
        rows = np.round(rows).astype(np.int64)
    else:
        rows = rows.astype(np.float32 if datatype == "FP32" else np.float64)
    tensor = th.InferInput("input-0", list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows, binary_data=binary)
    outputs = [th.InferRequestedOutput("predict", binary_data=binary),
               th.InferRequestedOutput("predict_proba", binary_data=binary)]
    result = triton.infer("iris", [tensor], outputs=outputs, request_id="r-1")
    # The values the model itself gives for the same numbers (FP32 widened as the server does).
    sent = rows.astype(np.float64).tolist()
    predict = result.as_numpy("predict")
    assert predict.dtype == np.int64 and predict.tolist() == _expected(predictors["iris"], sent, "predict").tolist()
    proba = result.as_numpy("predict_proba")
    assert proba.shape == (4, 3) and proba.dtype == np.float64
    np.testing.assert_array_equal(proba, _expected(predictors["iris"], sent, "predict_proba"))
    assert result.get_response()["id"] == "r-1"


def test_tritonclient_default_request_returns_every_output_as_binary(triton: Any, predictors: dict[str, Any]) -> None:
    import tritonclient.http as th

    tensor = th.InferInput("input-0", [4, 4], "FP64")
    tensor.set_data_from_numpy(np.array(IRIS_ROWS))
    result = triton.infer("iris", [tensor])  # no outputs named: every output, binary_data_output
    names = [output["name"] for output in result.get_response()["outputs"]]
    assert names == predictors["iris"].methods()
    assert all("binary_data_size" in output["parameters"] for output in result.get_response()["outputs"])
    np.testing.assert_array_equal(result.as_numpy("decision_function"),
                                  _expected(predictors["iris"], IRIS_ROWS, "decision_function"))


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_bytes_and_numbers_allocated_from_metadata(triton: Any, predictors: dict[str, Any],
                                                                churn_rows: list[dict[str, Any]],
                                                                binary: bool) -> None:
    """The metadata round trip: allocate each input as the metadata says, infer, compare with the model."""
    import tritonclient.http as th

    metadata = triton.get_model_metadata("churn", model_version="1")
    types = {tensor["name"]: tensor["datatype"] for tensor in metadata["inputs"]}
    assert types["Age"] == "FP64" and types["Geography"] == "BYTES" and types["Gender"] == "BYTES"
    inputs = []
    for tensor in metadata["inputs"]:
        column = [row[tensor["name"]] for row in churn_rows]
        if tensor["datatype"] == "BYTES":
            array = np.array([str(value).encode() for value in column], dtype=np.object_)
        else:
            array = np.array(column, dtype=np.float64)
        assert tensor["shape"] == [-1]
        infer_input = th.InferInput(tensor["name"], [len(column)], tensor["datatype"])
        infer_input.set_data_from_numpy(array, binary_data=binary)
        inputs.append(infer_input)
    outputs = [th.InferRequestedOutput(tensor["name"], binary_data=binary) for tensor in metadata["outputs"]]
    result = triton.infer("churn", inputs, outputs=outputs, model_version="1")
    # The features the model drops are not in the metadata; the server sends them to the model as nulls.
    assert "Surname" not in types
    names = predictors["churn"].spec.names
    as_sent = [{name: None if name not in types else str(row[name]) if types[name] == "BYTES" else float(row[name])
                for name in names} for row in churn_rows]
    for tensor in metadata["outputs"]:
        got = result.as_numpy(tensor["name"])
        assert got.dtype == np.dtype({"INT64": np.int64, "FP64": np.float64}[tensor["datatype"]])
        assert list(got.shape[1:]) == tensor["shape"][1:]
        np.testing.assert_allclose(got, _expected(predictors["churn"], as_sent, tensor["name"]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_tritonclient_compressed_requests_and_responses(triton: Any, predictors: dict[str, Any],
                                                        algorithm: str) -> None:
    import tritonclient.http as th

    rows = np.tile(np.array(IRIS_ROWS), (200, 1))
    tensor = th.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    result = triton.infer("iris", [tensor], outputs=[th.InferRequestedOutput("predict_proba")],
                          request_compression_algorithm=algorithm, response_compression_algorithm=algorithm)
    np.testing.assert_array_equal(result.as_numpy("predict_proba"),
                                  _expected(predictors["iris"], rows.tolist(), "predict_proba"))


def test_gzip_response_above_the_threshold_only(server: str) -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROWS[0]}],
            "outputs": [{"name": "predict_proba"}]}
    with httpx.Client(base_url=f"http://{server}") as client:
        small = client.post("/v2/models/iris/infer", json=body, headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in small.headers
        body["inputs"] = [{"name": "x", "shape": [500, 4], "datatype": "FP64", "data": IRIS_ROWS * 125}]
        large = client.post("/v2/models/iris/infer", json=body, headers={"Accept-Encoding": "gzip"})
        assert large.headers["content-encoding"] == "gzip" and large.json()["outputs"][0]["shape"] == [500, 3]


def test_versioned_routes_and_unknown_version(triton: Any, server: str) -> None:
    from tritonclient.utils import InferenceServerException

    assert triton.is_model_ready("iris", model_version="1")
    assert not triton.is_model_ready("iris", model_version="2")
    assert triton.get_model_metadata("iris", model_version="1")["versions"] == ["1"]
    with pytest.raises(InferenceServerException, match="one version"):
        triton.get_model_metadata("iris", model_version="7")
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]


def test_classification_extension(triton: Any, predictors: dict[str, Any]) -> None:
    import tritonclient.http as th
    from tritonclient.utils import InferenceServerException

    tensor = th.InferInput("input-0", [4, 4], "FP64")
    tensor.set_data_from_numpy(np.array(IRIS_ROWS))
    result = triton.infer("iris", [tensor], outputs=[th.InferRequestedOutput("predict_proba", class_count=2)])
    top = result.as_numpy("predict_proba")
    assert top.shape == (4, 2)
    proba = _expected(predictors["iris"], IRIS_ROWS, "predict_proba")
    for row in range(4):
        best = int(np.argmax(proba[row]))
        score, index, label = top[row][0].decode().split(":")
        assert (int(index), label, float(score)) == (best, str(best), proba[row][best])
    with pytest.raises(InferenceServerException, match="one score per class"):
        triton.infer("iris", [tensor], outputs=[th.InferRequestedOutput("predict", class_count=1)])


def test_open_inference_client_metadata_round_trip(server: str, predictors: dict[str, Any],
                                                   churn_rows: list[dict[str, Any]]) -> None:
    from open_inference.openapi.client import OpenInferenceClient

    with httpx.Client(timeout=60) as http:
        _round_trip(OpenInferenceClient(base_url=f"http://{server}", httpx_client=http), predictors, churn_rows)


def _round_trip(client: Any, predictors: dict[str, Any], churn_rows: list[dict[str, Any]]) -> None:
    from open_inference.openapi.types import InferenceRequest, RequestInput, RequestOutput

    client.check_server_readiness()
    client.check_model_version_readiness("churn", "1")
    metadata = client.read_model_version_metadata("churn", "1")
    inputs = []
    for tensor in metadata.inputs or []:
        column = [row[tensor.name] for row in churn_rows]
        data = [str(v) for v in column] if tensor.datatype == "BYTES" else [float(v) for v in column]
        inputs.append(RequestInput(name=tensor.name, shape=[len(column)], datatype=tensor.datatype, data=data))
    response = client.model_version_infer("churn", "1", request=InferenceRequest(
        id="oi-1", inputs=inputs, outputs=[RequestOutput(name="predict")]))
    assert response.id == "oi-1" and response.outputs[0].datatype == "INT64"
    got = [int(v) for v in response.outputs[0].data.__root__]
    types = {t.name: t.datatype for t in metadata.inputs or []}
    as_sent = [{name: None if name not in types else str(row[name]) if types[name] == "BYTES" else float(row[name])
                for name in predictors["churn"].spec.names} for row in churn_rows]
    assert got == _expected(predictors["churn"], as_sent, "predict").tolist()


def test_open_inference_client_int64_sent_as_floats(server: str, predictors: dict[str, Any]) -> None:
    """The generated client's data is List[float | str | bool]: integers go out as 5.0, which INT64 accepts."""
    from open_inference.openapi.client import OpenInferenceClient
    from open_inference.openapi.types import InferenceRequest, RequestInput

    ints = [[5, 3, 1, 0], [6, 3, 4, 1]]
    request = InferenceRequest(inputs=[RequestInput(name="input-0", shape=[2, 4], datatype="INT64",
                                                    data=[v for row in ints for v in row])])
    assert b"5.0" in request.json().encode()
    with httpx.Client(timeout=60) as http:
        response = OpenInferenceClient(base_url=f"http://{server}", httpx_client=http).model_infer("iris",
                                                                                                   request=request)
    predict = next(o for o in response.outputs if o.name == "predict")
    assert [int(v) for v in predict.data.__root__] == _expected(predictors["iris"], ints, "predict").tolist()


@pytest.mark.parametrize(
    ("request_id", "echoed"), [(7, 7), ("seven", "seven"), (2.5, 2.5)], ids=["int", "str", "float"])
def test_request_id_is_echoed_as_sent(server: str, request_id: Any, echoed: Any) -> None:
    body = {"id": request_id, "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROWS[0]}]}
    response = httpx.post(f"http://{server}/v2/models/iris/infer", json=body)
    assert response.status_code == 200 and response.json()["id"] == echoed


def test_refusals_name_the_place(server: str) -> None:
    url = f"http://{server}/v2/models/iris/infer"
    tensor = {"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [6.6, 3, 5, 2]}
    error = httpx.post(url, json={"inputs": [tensor]}).json()["error"]
    assert "value 0 (6.6) is not INT64" in error
    tensor["data"] = [6.0, 3, 5, 2]
    unknown = httpx.post(url, json={"inputs": [tensor], "outputs": [{"name": "transform"}]})
    assert unknown.status_code == 400
    assert unknown.json()["error"].endswith("unknown output 'transform'; this model has predict, predict_proba, "
                                            "decision_function")
    assert httpx.post(url, json={"id": {"a": 1}, "inputs": [tensor]}).status_code == 400


def test_binary_sizes_are_checked(server: str) -> None:
    """A header naming more (or fewer) bytes than follow is a 400 naming the input, never a crash."""
    import orjson

    url = f"http://{server}/v2/models/iris/infer"
    raw = np.array(IRIS_ROWS[0], dtype="<f8").tobytes()
    for size, extra, message in ((40, b"", "only 32 bytes"), (32, b"xx", "2 bytes of binary tensor data"),
                                 (24, b"", "take 32 bytes")):
        header = orjson.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                           "parameters": {"binary_data_size": size}}]})
        response = httpx.post(url, content=header + raw + extra,
                              headers={"Inference-Header-Content-Length": str(len(header))})
        assert response.status_code == 400 and message in response.json()["error"], response.text
    words = b"".join(len(w).to_bytes(4, "little") + w for w in (b"ab", b"\xff"))
    header = orjson.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "BYTES",
                                       "parameters": {"binary_data_size": len(words)}}]})
    response = httpx.post(url, content=header + words, headers={"Inference-Header-Content-Length": str(len(header))})
    assert response.status_code == 400 and "BYTES value 1 is not UTF-8" in response.json()["error"]


def test_schema_is_valid_openapi(server: str) -> None:
    from openapi_spec_validator import validate

    document = httpx.get(f"http://{server}/schema/").json()
    validate(document)
    assert "/v2/models/{model_name}/versions/{model_version}/infer" in document["paths"]
