"""Open Inference Protocol v2 (KServe v2 REST): health, metadata and infer over the same batcher.

A tensor input of shape [n, k] is n positional rows. Several inputs are one column each (shape [n] or
[n, 1]), as MLServer's pandas content type sends a mixed-type table: named by the model's feature names
when it has them, otherwise taken in the order sent. The rows then go through the predictor like any
JSON rows, so the answers are the ones `/predict/` gives.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError, ModelMethodError
from .bodies import records_batches
from .models import ServedModel, concat, served_model

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from ..batch import Scored
    from .guard import Guard

_INT_RANGES = {
    "INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1), "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1), "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1),
}
DATATYPES = ("BOOL", *_INT_RANGES, "FP16", "FP32", "FP64", "BYTES")


def routes(guard: Guard) -> list[BaseRoute]:
    from starlette.routing import Route

    return [
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2/models/{model_name}", guard("v2", "metadata", model_metadata), methods=["GET"]),
        Route("/v2/models/{model_name}/ready", guard("v2", "ready", model_ready), methods=["GET"]),
        Route("/v2/models/{model_name}/infer", guard("v2", "infer", infer), methods=["POST"]),
    ]


def _json(content: Any, status: int = 200) -> Response:
    import orjson
    from starlette.responses import Response

    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json")


async def server_metadata(request: Request) -> Response:
    return _json({"name": "flm", "version": __version__, "extensions": []})


async def live(request: Request) -> Response:
    return _json({"live": True})


async def ready(request: Request) -> Response:
    # Models are loaded before the server accepts connections, so a server that answers is ready.
    return _json({"ready": True})


async def model_ready(request: Request) -> Response:
    served = served_model(request)
    return _json({"name": served.name, "ready": True})


async def model_metadata(request: Request) -> Response:
    served = served_model(request)
    spec = served.predictor.spec
    if spec.names is not None:
        inputs = [{"name": name, "datatype": "BYTES", "shape": [-1]} for name in spec.names]
    else:
        inputs = [{"name": "input-0", "datatype": "FP64", "shape": [-1, spec.expected or -1]}]
    outputs = [{"name": method, "datatype": "FP64", "shape": [-1, -1]} for method in served.predictor.methods()]
    meta = getattr(served.model, "meta", None) or {}
    framework = meta.get("framework") if isinstance(meta, dict) else None
    platform = (framework or {}).get("lib", "") if isinstance(framework, dict) else ""
    return _json({"name": served.name, "versions": [], "platform": platform, "inputs": inputs, "outputs": outputs})


async def infer(request: Request) -> Response:
    import orjson

    served = served_model(request)
    body = await request.body()
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InputError(f"malformed JSON: {error}", source="body") from None
    if not isinstance(document, dict):
        raise InputError("expected an inference request object", source="body")
    rows = _rows(document.get("inputs"), served)
    methods = _requested(document.get("outputs"), served)
    size = served.batcher.max_batch_size
    outputs = []
    for method in methods:
        parts = await asyncio.gather(*(served.batcher.submit(b, method) for b in records_batches(rows, size)))
        outputs.append(_tensor(method, concat(list(parts))))
    request_id = document.get("id")
    return _json(
        {
            "model_name": served.name,
            "id": request_id if isinstance(request_id, str) else str(uuid.uuid4()),
            "outputs": outputs,
        }
    )


def _requested(outputs: Any, served: ServedModel) -> list[str]:
    if outputs is None:
        return [served.predictor.method]
    if not isinstance(outputs, list) or not outputs:
        raise InputError("expected a non-empty array of {\"name\": ...}", source="body", field="outputs")
    methods = []
    for index, output in enumerate(outputs):
        name = output.get("name") if isinstance(output, dict) else None
        if not isinstance(name, str):
            raise InputError("expected an object with a string name", source="body", field=f"outputs[{index}]")
        try:
            methods.append(served.check_method(name))
        except ModelMethodError as error:
            raise InputError(str(error), source="body", field=f"outputs[{index}].name") from None
    return methods


def _rows(inputs: Any, served: ServedModel) -> list[Any]:
    if not isinstance(inputs, list) or not inputs:
        raise InputError("expected a non-empty array of tensors", source="body", field="inputs")
    tensors = [_tensor_values(tensor, index) for index, tensor in enumerate(inputs)]
    spec = served.predictor.spec
    width = spec.expected
    if len(tensors) == 1 and len(tensors[0][1]) == 2 and (width is None or width != 1 or tensors[0][1][1] == 1):
        name, shape, flat = tensors[0]
        n, k = shape
        if width is not None and k != width:
            raise InputError(f"shape {shape}: the model takes {width} features", source="body",
                             field=f"inputs[0] ({name})")
        return [flat[i * k : (i + 1) * k] for i in range(n)]
    # One column per input.
    lengths = set()
    for index, (name, shape, _) in enumerate(tensors):
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise InputError(f"a column input has shape [n] or [n, 1], got {shape}", source="body",
                             field=f"inputs[{index}] ({name})")
        lengths.add(shape[0])
    if len(lengths) > 1:
        raise InputError(f"column inputs differ in length: {sorted(lengths)}", source="body", field="inputs")
    n = lengths.pop()
    names = [name for name, _, _ in tensors]
    columns = [flat for _, _, flat in tensors]
    if spec.names is not None:
        if len(set(names)) != len(names):
            raise InputError("input names repeat", source="body", field="inputs")
        missing = [name for name in spec.names if name not in names]
        if missing:
            raise InputError("missing input", source="body", field=missing[0])
        return [{name: column[i] for name, column in zip(names, columns)} for i in range(n)]
    if width is not None and len(columns) != width:
        raise InputError(f"{len(columns)} column inputs sent but the model takes {width} features",
                         source="body", field="inputs")
    return [[column[i] for column in columns] for i in range(n)]


def _tensor_values(tensor: Any, index: int) -> tuple[str, list[int], list[Any]]:
    where = f"inputs[{index}]"
    if not isinstance(tensor, dict):
        raise InputError("expected a tensor object", source="body", field=where)
    name = tensor.get("name")
    if not isinstance(name, str):
        raise InputError("expected a string", source="body", field=f"{where}.name")
    where = f"inputs[{index}] ({name})"
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise InputError("shape must be a non-empty array of non-negative integers", source="body", field=where)
    if len(shape) > 2:
        raise InputError(f"shape {shape}: tabular models take 1-D or 2-D tensors", source="body", field=where)
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise InputError(f"datatype {datatype!r} is not one of {', '.join(DATATYPES)}", source="body", field=where)
    data = tensor.get("data")
    if not isinstance(data, list):
        raise InputError("data must be an array", source="body", field=where)
    flat = _flatten(data)
    expected = math.prod(shape)
    if len(flat) != expected:
        raise InputError(f"shape {shape} holds {expected} values but data has {len(flat)}", source="body",
                         field=where)
    for position, value in enumerate(flat):
        if not _is(datatype, value):
            raise InputError(f"value {position} ({value!r}) is not {datatype}", source="body", field=where)
    return name, shape, flat


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(item, list) for item in data):
        return data
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _is(datatype: str, value: Any) -> bool:
    if datatype == "BOOL":
        return type(value) is bool
    if datatype == "BYTES":
        return isinstance(value, str)
    if datatype in _INT_RANGES:
        low, high = _INT_RANGES[datatype]
        return type(value) is int and low <= value <= high
    return type(value) in (int, float)


def _tensor(method: str, scored: Scored) -> dict[str, Any]:
    import numpy as np

    values = scored.outputs.to_numpy()
    n = len(values)
    shape = [n] if scored.flat else [n, values.shape[1] if values.ndim > 1 else 1]
    flat = values.reshape(-1)
    kind = flat.dtype.kind
    if kind == "b":
        datatype = "BOOL"
    elif kind in "iu":
        datatype = ("UINT" if kind == "u" else "INT") + str(flat.dtype.itemsize * 8)
    elif kind == "f":
        datatype = f"FP{flat.dtype.itemsize * 8}"
    else:
        datatype = "BYTES"
        flat = np.array([str(v) for v in flat], dtype=object)
    return {"name": method, "datatype": datatype, "shape": shape, "data": flat.tolist()}
