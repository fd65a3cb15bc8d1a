"""GET /schema/ says what the routes do: the Flama body it describes is the body they accept, and each status a
route answers is among its documented responses (a client generated from the schema handles no other)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.serve.test_app import CHURN, CHURN_ROWS, IRIS, app_client


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with app_client({"churn": CHURN}) as client:
        yield client


@pytest.fixture(scope="module")
def schema(client: Any) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/schema/").json()
    return document


def _body_validator(schema: dict[str, Any], path: str) -> Any:
    from openapi_schema_validator import OAS30Validator

    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return OAS30Validator(body)


@pytest.mark.parametrize("path", ["/predict/", "/churn/predict/", "/churn/predict_proba/"])
def test_the_flama_body_schema_refuses_a_key_beside_input_as_the_route_does(
        client: Any, schema: dict[str, Any], path: str) -> None:
    validator = _body_validator(schema, path)
    accepted = {"input": CHURN_ROWS[:1]}
    refused = {"input": CHURN_ROWS[:1], "method": "predict_proba"}
    assert client.post(path, json=accepted).status_code == 200
    assert validator.is_valid(accepted)
    response = client.post(path, json=refused)
    assert response.status_code == 400 and "'method'" in response.json()["error"]
    assert not validator.is_valid(refused)


V2_BODY = '{"inputs": [{"name": "CreditScore", "datatype": "FP64", "shape": [1], "data": [1]}]}'


@pytest.mark.parametrize(("path", "body"), [
    ("/churn/predict/", '{"input": []}'),
    ("/v2/models/churn/infer", V2_BODY),
    ("/v2/models/churn/versions/1/infer", V2_BODY),
])
@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json; charset=no-such-charset"},
    {"Content-Type": "application/json", "Content-Encoding": "br"},
])
def test_an_unsupported_charset_or_coding_is_a_documented_415(
        client: Any, schema: dict[str, Any], path: str, body: str, headers: dict[str, str]) -> None:
    response = client.post(path, content=body.encode(), headers=headers)
    assert response.status_code == 415
    template = path.replace("/models/churn/", "/models/{model_name}/").replace("/versions/1/",
                                                                               "/versions/{model_version}/")
    documented = schema["paths"][template]["post"]["responses"]
    assert "415" in documented
    assert "charset" in documented["415"]["description"] and "Content-Encoding" in documented["415"]["description"]


def test_the_example_body_of_each_model_is_answered() -> None:
    # what Swagger UI's "Try it out" sends from /docs/: zeros alone were a 400 for churn ('Geography': expected text)
    with app_client({"churn": CHURN, "iris": IRIS}) as client:
        paths = client.get("/schema/").json()["paths"]
        for name in ("churn", "iris"):
            for method in ("predict", "predict_proba"):
                path = f"/{name}/{method}/"
                example = paths[path]["post"]["requestBody"]["content"]["application/json"]["example"]
                response = client.post(path, json=example)
                assert response.status_code == 200, (path, response.text)
                assert len(response.json()["output"]) == 1
