"""The OpenAPI 3 document of every route, and Swagger UI served from the swagger-ui-bundle package (no CDN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import FlmError
from .media import MEDIA_TYPES, RESPONSE_TYPES

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from .models import ServedModel

_ERROR = {"$ref": "#/components/schemas/Error"}
# OpenAPI 3.0 has no "null" type: a JSON null is a `nullable` value.
_SCALAR = {"nullable": True, "oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]}
_ROW = {"oneOf": [{"type": "array", "items": _SCALAR}, {"type": "object", "additionalProperties": _SCALAR}]}
_TENSOR_IN = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
                                                "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"]},
        "parameters": {"type": "object"},
        "data": {"type": "array", "items": {}},
    },
}
_TENSOR_OUT = {
    "type": "object",
    "required": ["name", "shape", "datatype", "data"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer"}},
        "datatype": {"type": "string"},
        "data": {"type": "array", "items": {}},
    },
}


def assets_dir() -> str:
    try:
        import swagger_ui_bundle
    except ImportError:  # pragma: no cover - the serve extra installs it
        raise FlmError("flm serve needs its docs assets: pip install 'flmcli[serve]'") from None
    return str(swagger_ui_bundle.swagger_ui_path)


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {400: "Bad request: the message names the field or row", 404: "Unknown model",
               406: "Not acceptable", 408: "The body did not arrive in time", 413: "Body too large",
               415: "Unsupported Content-Type, charset or Content-Encoding",
               500: "Internal error", 504: "Timed out"}
    return {str(s): {"description": reasons[s], "content": {"application/json": {"schema": _ERROR}}}
            for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _model_paths(served: ServedModel, prefix: str) -> dict[str, Any]:
    methods = served.predictor.methods()
    tag = served.name
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["input"],
                    "properties": {"input": {"type": "array", "items": _ROW}},
                    # A key beside "input" is refused (400 naming it): Flama ignores one, so a typo or an option
                    # put there would score without a word.
                    "additionalProperties": False,
                },
                "example": {"input": [served.predictor.example_row()]},
            },
            **{media_type: {"schema": {"type": "string", "format": "binary"}}
               for media_type in MEDIA_TYPES if MEDIA_TYPES[media_type] != "json"},
        },
    }
    output = {
        "type": "object",
        "required": ["output"],
        "properties": {"output": {"type": "array", "items": {}}},
    }
    responses = {
        "200": {
            "description": "One output per input row, in order",
            "content": {
                "application/json": {"schema": output},
                **{t.split(";")[0]: {"schema": {"type": "string"}} for f, t in RESPONSE_TYPES.items() if f != "json"},
            },
        },
        **_errors(400, 406, 408, 413, 415, 504),
    }
    params = [
        _query("method", "Estimator method", {"type": "string", "enum": methods}),
        _query("keep_input", "Echo the input fields beside the outputs", {"type": "boolean"}),
        _query("keep", "Echo these input fields (comma-separated)", {"type": "string"}),
    ]
    paths: dict[str, Any] = {
        f"{prefix}/": {"get": {"tags": [tag], "summary": "Inspect the model", "operationId": f"{tag}-inspect{prefix}",
                               "responses": {"200": {"description": "The model's metadata and artifacts",
                                                     "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }
    for method in methods:
        paths[f"{prefix}/{method}/"] = {
            "post": {
                "tags": [tag],
                "summary": f"{method} for each input row",
                "operationId": f"{tag}-{method}{prefix}".replace("/", "-"),
                "parameters": params if method == "predict" else params[1:],
                "requestBody": body,
                "responses": responses,
            }
        }
    return paths


def _v2_paths(names: list[str]) -> dict[str, Any]:
    name = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    infer_body: dict[str, Any] = {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": _TENSOR_IN},
                "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                         "properties": {"name": {"type": "string"}}}},
            },
        }}},
    }
    infer_ok: dict[str, Any] = {"description": "Inference response", "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["model_name", "outputs"],
        "properties": {"model_name": {"type": "string"}, "model_version": {"type": "string"},
                       "id": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                       "outputs": {"type": "array", "items": _TENSOR_OUT}},
    }}}}
    tag = ["Open Inference Protocol v2"]
    version = {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string", "enum": ["1"]}}
    binary = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    infer_body["content"].update(binary)
    infer_ok["content"].update(binary)
    infer_ok["headers"] = {"Inference-Header-Content-Length": {
        "description": "Length of the JSON header when binary tensors follow it", "schema": {"type": "integer"}}}
    paths: dict[str, Any] = {
        "/v2": {"get": {"tags": tag, "summary": "Server metadata", "operationId": "v2-server-metadata",
                        "responses": {"200": ok}}},
        "/v2/health/live": {"get": {"tags": tag, "summary": "Liveness", "operationId": "v2-live",
                                    "responses": {"200": ok}}},
        "/v2/health/ready": {"get": {"tags": tag, "summary": "Readiness", "operationId": "v2-ready",
                                     "responses": {"200": ok}}},
        "/v2/models/{model_name}": {"get": {"tags": tag, "summary": "Model metadata", "operationId": "v2-metadata",
                                            "parameters": [name], "responses": {"200": ok, **_errors(404)}}},
        "/v2/models/{model_name}/ready": {"get": {"tags": tag, "summary": "Model readiness",
                                                  "operationId": "v2-model-ready", "parameters": [name],
                                                  "responses": {"200": ok, **_errors(404)}}},
        "/v2/models/{model_name}/infer": {"post": {"tags": tag, "summary": "Inference", "operationId": "v2-infer",
                                                   "parameters": [name], "requestBody": infer_body,
                                                   "responses": {"200": infer_ok, **_errors(400, 404, 408, 413, 415, 504)}}},
    }
    # The one version of each model, under the versioned routes clients such as tritonclient call.
    for path in ("/v2/models/{model_name}", "/v2/models/{model_name}/ready", "/v2/models/{model_name}/infer"):
        versioned = path.replace("{model_name}", "{model_name}/versions/{model_version}")
        paths[versioned] = {
            verb: {**operation, "operationId": operation["operationId"] + "-versioned",
                   "parameters": [name, version]}
            for verb, operation in paths[path].items()
        }
    return paths


def _custom_paths(routes: list[Any]) -> dict[str, Any]:
    """Routes added with create_app(routes=...): documented from their docstrings."""
    paths: dict[str, Any] = {}
    for route in routes:
        if not getattr(route, "include_in_schema", False) or not hasattr(route, "path"):
            continue
        doc = (getattr(route.endpoint, "__doc__", None) or "").strip()
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in getattr(route, "param_convertors", {})]
        for verb in sorted((route.methods or {"GET"}) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": doc.splitlines()[0] if doc else route.name,
                "operationId": f"{route.name}-{verb.lower()}",
                "parameters": params,
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
                              **_errors(400)},
            }
            if verb in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["input"],
                    "properties": {"input": {"type": "array", "items": _ROW}}}}}}
            paths.setdefault(route.path, {})[verb.lower()] = operation
    return paths


def openapi(models: dict[str, ServedModel], title: str, custom: list[Any] | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    single = len(models) == 1
    for served in models.values():
        for prefix in (["", f"/{served.name}"] if single else [f"/{served.name}"]):
            paths.update(_model_paths(served, prefix))
    paths.update(_v2_paths(list(models)))
    paths.update(_custom_paths(custom or []))
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": __version__,
                 "description": "FLM models served by flm: Flama-compatible routes and Open Inference Protocol v2. "
                                "v2 infer with `outputs` omitted answers every output the model metadata lists; "
                                "binary tensors (Inference-Header-Content-Length), gzip/deflate request bodies (up to 4 codings "
                                "stacked) and "
                                "the classification extension are supported; each model has one version, \"1\"."},
        "paths": paths,
        "components": {"schemas": {"Error": {"type": "object", "required": ["error"],
                                             "properties": {"error": {"type": "string"}}}}},
    }


async def schema(request: Request) -> Response:
    from starlette.responses import JSONResponse

    state = request.app.state
    document = getattr(state, "openapi", None)
    if document is None:
        document = state.openapi = openapi(state.models, state.title, getattr(state, "custom_routes", None))
    return JSONResponse(document)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "../schema/", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


async def page(request: Request) -> Response:
    from html import escape

    from starlette.responses import HTMLResponse

    return HTMLResponse(_PAGE.format(title=escape(request.app.state.title)))
