"""The app `flm serve` runs, in-process through Starlette's TestClient: routes, content types, parity, errors, v2.

One real uvicorn process on 127.0.0.1 checks what only a process shows: it starts, answers, logs to stderr and stops
on Ctrl-C with status 0.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.helpers import CORPUS, invoke
from tests.serve.servers import listening_port

if TYPE_CHECKING:
    from starlette.testclient import TestClient

CHURN = CORPUS / "flama-2.2.2_churn_zstd_p2.flm"
IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"



def manifest_entry(path: Path) -> dict[str, Any]:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    return next(entry for entry in manifest["files"] if entry["file"] == path.name)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    stderr: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


def spawn(tmp: Path, models: dict[str, Path], **options: Any) -> Server:
    """A real `flm serve` process (flmcli.serve.run) on a port it binds itself; `wait_ready` learns which."""
    stderr = Path(tempfile.mkstemp(prefix="server-", suffix=".log", dir=tmp)[1])
    code = (
        "from flmcli.serve import run\n"
        f"run({ {name: str(path) for name, path in models.items()}!r}, port=0, **{options!r})\n"
    )
    with open(stderr, "wb") as err:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=err)
    return Server(process, "", stderr)


def wait_ready(server: Server, deadline: float = 90.0) -> Server:
    stop = time.monotonic() + deadline
    server.url = f"http://127.0.0.1:{listening_port(server.process, server.stderr, deadline)}"
    while time.monotonic() < stop:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/v2/health/ready", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not ready:\n{server.log()}")


def stop(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return server.process.returncode


def app_client(models: dict[str, Path], **options: Any) -> TestClient:
    """The app `flm serve` would run for `models`, built the way its runner builds it; use it in a `with` block,
    which runs the app's lifespan (the batchers)."""
    from starlette.testclient import TestClient

    from flmcli.serve.app import create_app
    from flmcli.serve.runner import load_predictors

    predictors = load_predictors({name: str(path) for name, path in models.items()})
    return TestClient(create_app(predictors, **options), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def churn() -> Iterator[TestClient]:
    with app_client({"churn": CHURN}, max_body_size=200_000) as client:
        yield client


@pytest.fixture(scope="module")
def multi() -> Iterator[TestClient]:
    with app_client({"churn": CHURN, "iris": IRIS}) as client:
        yield client


@pytest.fixture(scope="module")
def predictors() -> dict[str, Any]:
    from flmcli.predictor import Predictor

    return {"churn": Predictor.from_path(CHURN), "iris": Predictor.from_path(IRIS)}


CHURN_ROWS = manifest_entry(CHURN)["input"]["rows"]
IRIS_ROWS = manifest_entry(IRIS)["input"]["rows"]


def expected_bytes(predictor: Any, fmt: str, body: bytes, out: str, method: str | None = None,
                   keep_input: Any = False) -> bytes:
    """What flm's own reader, predictor and encoder make of a body, in-process."""
    from flmcli import formats

    batches = list(formats.reader(fmt)(io.BytesIO(body), source="input", batch_size=1024, max_delay=None))
    scored = [predictor.score(batch, method=method) for batch in batches]
    encoded = b"".join(formats.encoder(out)(iter(scored), keep_input=keep_input))
    return b'{"output":' + encoded + b"}" if out == "json" else encoded


def body_in(fmt: str, rows: list[list[Any]], columns: list[str]) -> bytes:
    """The rows written as a request body in `fmt` (pyarrow builds the columnar ones)."""
    import pyarrow as pa

    if fmt == "json":
        return json.dumps({"input": rows}).encode()
    if fmt == "ndjson":
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    sink = io.BytesIO()
    if fmt in ("csv", "tsv"):
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, sink, pacsv.WriteOptions(delimiter="," if fmt == "csv" else "\t"))
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    elif fmt == "arrow":
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    elif fmt == "arrow-file":
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return sink.getvalue()


CONTENT_TYPES = {"json": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv",
                 "tsv": "text/tab-separated-values", "parquet": "application/vnd.apache.parquet",
                 "arrow": "application/vnd.apache.arrow.stream", "arrow-file": "application/vnd.apache.arrow.file"}
IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


# --- Flama's routes ------------------------------------------------------------------------------------


def test_inspect_is_the_model_files(churn: TestClient, predictors: dict[str, Any]) -> None:
    response = churn.get("/")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(predictors["churn"].model.inspect()))
    assert churn.get("/churn/").json() == response.json()


def test_predict_answers_in_flamas_shape(churn: TestClient, predictors: dict[str, Any]) -> None:
    expected = manifest_entry(CHURN)["expected_outputs"]["predict"]
    response = churn.post("/predict/", json={"input": CHURN_ROWS[:1]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"output": expected[:1]}
    assert churn.post("/churn/predict/", json={"input": CHURN_ROWS}).json() == {"output": expected}
    # What `curl -d` sends without -H: form-urlencoded, read as the JSON it holds.
    curl = churn.post("/predict/", content=json.dumps({"input": CHURN_ROWS}),
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert curl.json() == {"output": expected}


@pytest.mark.parametrize("out", ["json", "ndjson", "csv", "tsv", "parquet", "arrow"])
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "tsv", "parquet", "arrow", "arrow-file"])
def test_every_format_in_and_out_matches_flm_predict_bytes(
    multi: TestClient, predictors: dict[str, Any], fmt: str, out: str
) -> None:
    body = body_in(fmt, IRIS_ROWS, IRIS_COLUMNS)
    response = multi.post("/iris/predict/", content=body,
                          headers={"content-type": CONTENT_TYPES[fmt], "accept": CONTENT_TYPES[out]})
    assert response.status_code == 200, response.text
    reader = "arrow" if fmt == "arrow-file" else fmt
    assert response.content == expected_bytes(predictors["iris"], reader, body, out)


def test_response_follows_the_request_format_without_accept(multi: TestClient) -> None:
    body = body_in("ndjson", IRIS_ROWS, IRIS_COLUMNS)
    response = multi.post("/iris/predict/", content=body, headers={"content-type": "application/x-ndjson"})
    assert response.headers["content-type"] == "application/x-ndjson"
    assert len(response.content.splitlines()) == len(IRIS_ROWS)


def test_predict_proba_by_query_and_by_route(multi: TestClient, predictors: dict[str, Any]) -> None:
    body = body_in("json", IRIS_ROWS, IRIS_COLUMNS)
    expected = expected_bytes(predictors["iris"], "json", body, "json", method="predict_proba")
    assert multi.post("/iris/predict/?method=predict_proba", content=body).content == expected
    assert multi.post("/iris/predict_proba/", content=body).content == expected


def test_keep_input_and_keep_columns(multi: TestClient, predictors: dict[str, Any]) -> None:
    body = body_in("ndjson", IRIS_ROWS, IRIS_COLUMNS)
    headers = {"content-type": "application/x-ndjson"}
    kept = multi.post("/iris/predict/?keep_input=true", content=body, headers=headers)
    assert kept.content == expected_bytes(predictors["iris"], "ndjson", body, "ndjson", keep_input=True)
    assert json.loads(kept.content.splitlines()[0])["input"] == IRIS_ROWS[0]
    csv_body = body_in("csv", IRIS_ROWS, IRIS_COLUMNS)
    some = multi.post("/iris/predict/?keep=petal_width", content=csv_body, headers={"content-type": "text/csv"})
    assert some.content == expected_bytes(predictors["iris"], "csv", csv_body, "csv", keep_input=["petal_width"])
    assert some.content.splitlines()[0].startswith(b"petal_width")


def test_same_bytes_as_the_flm_predict_command(churn: TestClient, tmp_path: Path) -> None:
    rows = tmp_path / "rows.ndjson"
    rows.write_bytes(body_in("ndjson", CHURN_ROWS, []))
    # predict_proba: floats, the strictest byte comparison
    cli = invoke("predict", CHURN, rows, "--method", "predict_proba")
    assert cli.returncode == 0, cli.stderr
    http = churn.post("/predict/?method=predict_proba", content=rows.read_bytes(),
                      headers={"content-type": "application/x-ndjson"})
    assert http.content == cli.stdout


def test_several_models_each_under_its_prefix(multi: TestClient) -> None:
    assert multi.get("/").json() == {"models": {"churn": "/churn/", "iris": "/iris/"}}
    assert multi.post("/iris/predict/", json={"input": IRIS_ROWS}).json()["output"] == \
        manifest_entry(IRIS)["expected_outputs"]["predict"]
    assert multi.post("/churn/predict/", json={"input": CHURN_ROWS}).json()["output"] == \
        manifest_entry(CHURN)["expected_outputs"]["predict"]
    missing = multi.post("/predict/", json={"input": IRIS_ROWS})
    assert missing.status_code == 404 and "error" in missing.json()


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "status", "names"),
    [
        (b'{"input": [[1, 2', {}, 400, "invalid JSON"),
        (b'{"rows": []}', {}, 400, "field 'rows': not a field of the body"),
        (b'{"input": 3}', {}, 400, "'input'"),
        (b"", {}, 400, "empty body"),
        (json.dumps({"input": [CHURN_ROWS[0], CHURN_ROWS[0][:5]]}).encode(), {}, 400, "input:2: expected 13 values"),
        (json.dumps({"input": [CHURN_ROWS[0], 7]}).encode(), {}, 400, "input:2:"),
        (b"\x89PNG", {"content-type": "image/png"}, 415, "image/png"),
        (json.dumps({"input": CHURN_ROWS}).encode(), {"accept": "image/png"}, 406, "image/png"),
    ],
    ids=["truncated-json", "no-input", "input-not-array", "empty", "short-row", "scalar-row", "png", "accept-png"],
)
def test_client_errors_are_json_naming_the_place(
    churn: TestClient, body: bytes, headers: dict[str, str], status: int, names: str
) -> None:
    response = churn.post("/predict/", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert names in response.json()["error"]
    assert "Traceback" not in response.text


def test_bad_value_names_row_and_field(churn: TestClient) -> None:
    row = list(CHURN_ROWS[0])
    row[6] = "old"
    response = churn.post("/predict/", json={"input": [CHURN_ROWS[1], row]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("input:2:")


def test_unknown_method_model_and_route(churn: TestClient, multi: TestClient) -> None:
    method = churn.post("/predict/?method=explode", json={"input": CHURN_ROWS})
    assert method.status_code == 400 and "explode" in method.json()["error"]
    absent = churn.post("/predict/?method=transform", json={"input": CHURN_ROWS})
    assert absent.status_code == 400 and "transform" in absent.json()["error"]
    assert multi.post("/nope/predict/", json={"input": []}).status_code == 404
    assert churn.get("/v2/models/nope").json()["error"].startswith("unknown model 'nope'")


def test_body_size_limit_by_header_and_by_stream(churn: TestClient) -> None:
    big = json.dumps({"input": CHURN_ROWS * 2000}).encode()
    declared = churn.post("/predict/", content=big)
    assert declared.status_code == 413 and "error" in declared.json()
    streamed = churn.post("/predict/", content=iter([big[i : i + 65536] for i in range(0, len(big), 65536)]))
    assert streamed.status_code == 413 and "larger than" in streamed.json()["error"]


def test_timeout_is_504() -> None:
    body = json.dumps({"input": CHURN_ROWS * 300}).encode()  # well over 5 ms of work
    with app_client({"churn": CHURN}, timeout=0.005) as client:
        response = client.post("/predict/", content=body)
    assert response.status_code == 504
    assert "error" in response.json()


# --- Open Inference Protocol v2 ------------------------------------------------------------------------


def test_v2_health_and_metadata(multi: TestClient, predictors: dict[str, Any]) -> None:
    assert multi.get("/v2/health/live").json() == {"live": True}
    assert multi.get("/v2/health/ready").json() == {"ready": True}
    server = multi.get("/v2").json()
    assert server["name"] == "flm" and "version" in server and isinstance(server["extensions"], list)
    meta = multi.get("/v2/models/iris").json()
    assert meta["name"] == "iris" and meta["platform"] == "sklearn"
    assert [o["name"] for o in meta["outputs"]] == predictors["iris"].methods()
    assert meta["inputs"][0]["shape"] == [-1, 4]
    assert multi.get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
    assert multi.get("/v2/models/nope/ready").status_code == 404


def test_v2_infer_matrix_flat_and_nested(multi: TestClient, predictors: dict[str, Any]) -> None:
    import numpy as np

    flat = [v for row in IRIS_ROWS for v in row]
    n = len(IRIS_ROWS)
    predictor = predictors["iris"]
    proba = predictor.call(np.array(IRIS_ROWS), "predict_proba")
    for data in (flat, IRIS_ROWS):
        response = multi.post("/v2/models/iris/infer", json={
            "id": "req-1",
            "inputs": [{"name": "x", "shape": [n, 4], "datatype": "FP64", "data": data}],
            "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
        })
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["model_name"] == "iris" and document["id"] == "req-1"
        predict, probabilities = document["outputs"]
        assert predict["name"] == "predict" and predict["shape"] == [n] and predict["datatype"].startswith("INT")
        assert predict["data"] == predictor.call(np.array(IRIS_ROWS)).tolist()
        assert probabilities["shape"] == [n, 3] and probabilities["datatype"] == "FP64"
        assert probabilities["data"] == proba.reshape(-1).tolist()


def test_v2_infer_one_input_per_column_for_a_mixed_table(multi: TestClient) -> None:
    columns = list(zip(*CHURN_ROWS))
    n = len(CHURN_ROWS)

    def datatype(values: tuple[Any, ...]) -> str:
        if all(isinstance(v, str) for v in values):
            return "BYTES"
        return "INT64" if all(isinstance(v, int) for v in values) else "FP64"

    inputs = [{"name": f"c{i}", "shape": [n] if i % 2 else [n, 1], "datatype": datatype(values), "data": list(values)}
              for i, values in enumerate(columns)]
    response = multi.post("/v2/models/churn/infer", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    assert output["name"] == "predict" and output["shape"] == [n]
    assert output["data"] == manifest_entry(CHURN)["expected_outputs"]["predict"]


@pytest.mark.parametrize(
    ("tensor", "names"),
    [
        ({"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [1.0] * 7}, "holds 8 values"),
        ({"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1.0] * 3}, "takes 4 features"),
        ({"name": "x", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 300]}, "not INT8"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, "a", 3]}, "not FP64"),
        ({"name": "x", "shape": [1, 4], "datatype": "FP128", "data": [1, 2, 3, 4]}, "FP128"),
        ({"name": "x", "shape": [1, 2, 2], "datatype": "FP64", "data": [1, 2, 3, 4]}, "1-D or 2-D"),
        ({"shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}, "name"),
    ],
    ids=["count", "width", "int8-range", "type", "datatype", "rank", "no-name"],
)
def test_v2_bad_tensors_are_400(multi: TestClient, tensor: dict[str, Any], names: str) -> None:
    response = multi.post("/v2/models/iris/infer", json={"inputs": [tensor]})
    assert response.status_code == 400
    assert names in response.json()["error"]


def test_v2_unknown_output_is_400(multi: TestClient) -> None:
    response = multi.post("/v2/models/iris/infer", json={
        "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": IRIS_ROWS[0]}],
        "outputs": [{"name": "explode"}],
    })
    assert response.status_code == 400 and "outputs[0]" in response.json()["error"]


# --- docs, schema, metrics, logs -----------------------------------------------------------------------


def test_schema_and_offline_docs(multi: TestClient) -> None:
    schema = multi.get("/schema/").json()
    assert schema["openapi"].startswith("3.")
    for path in ("/iris/predict/", "/churn/predict_proba/", "/iris/", "/v2/models/{model_name}/infer"):
        assert path in schema["paths"]
    page = multi.get("/docs/")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.split("<body>")[1]  # no CDN: every asset is served here
    script = multi.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_metrics_count_requests_and_rows(multi: TestClient) -> None:
    multi.post("/iris/predict/", json={"input": IRIS_ROWS})
    text = multi.get("/metrics").text
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    assert samples['flm_rows_scored_total{model="iris"}'] >= len(IRIS_ROWS)
    assert samples['flm_requests_total{model="iris",route="predict"}'] >= 1
    assert any(name.startswith("flm_request_duration_seconds_bucket") for name in samples)
    assert any(name.startswith("flm_batch_rows_bucket") for name in samples)


def test_a_real_uvicorn_process_serves_logs_to_stderr_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    server = wait_ready(spawn(tmp_path, {"churn": CHURN}))
    try:
        with server.client() as client:
            response = client.post("/predict/", json={"input": CHURN_ROWS[:1]})
        assert response.status_code == 200
        assert response.json() == {"output": manifest_entry(CHURN)["expected_outputs"]["predict"][:1]}
    finally:
        code = stop(server)
    assert code == 0
    log = server.log()
    assert '"POST /predict/ HTTP/1.1" 200' in log
    assert "Traceback" not in log


def test_bad_model_file_exits_3_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("uvicorn started on a broken model file")

    monkeypatch.setattr("uvicorn.run", started)
    broken = CORPUS / "malformed_truncated_p2.flm"
    result = invoke("serve", f"m={broken}", "--port", "0")
    assert result.returncode == 3
    stderr = result.stderr.decode()
    assert broken.name in stderr and "Traceback" not in stderr
