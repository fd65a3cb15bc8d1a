"""Open Inference Protocol v2 (KServe v2 REST): health, metadata and infer over the same batcher.

Tensors may come as JSON `data` or as binary data after the JSON header (the binary tensor data extension,
see tensors.py). A tensor input of shape [n, k] is n positional rows. Several inputs are one column each
(shape [n] or [n, 1]), as MLServer's pandas content type and the model metadata's per-feature inputs send a
mixed-type table: named by the model's feature names when it has them, otherwise taken in the order sent.
The columns become the positional rows a `/predict/` body of the same rows decodes to (filled column by column
in numpy, no per-value Python work), so the answers are the ones `/predict/` gives, for the same model time. Past a
few rows they stay that matrix, the model's input, and are not split into row lists (see columns.py).
All the outputs a request asks for come from one model call per batch: features extracted once.

Each model has one version, "1": `/v2/models/{name}/versions/1/...` is the same model.
With `outputs` omitted the answer holds every output the metadata lists, as the protocol says.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError
from ..formats import json_keys
from . import columns, media, tensors
from .batcher import INLINE_ROWS, SMALL_BODY, Part
from .bodies import SOURCE, records_batches
from .errors import NotFound
from .models import ServedModel, concat, served_model

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from ..batch import Batch

    Guard = Callable[[str, str, Callable[[Request], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]

VERSION = "1"
EXTENSIONS = ["binary_tensor_data", "classification"]
HEADER_LENGTH = "inference-header-content-length"
# JSON headers larger than this are parsed on a worker thread, not on the event loop.
_THREAD_ABOVE = 256 * 1024


BASES = ("/v2/models/{model_name}", "/v2/models/{model_name}/versions/{model_version}")


def infer_routes(guard: Guard) -> list[BaseRoute]:
    """The infer routes, which the app lists first: Starlette tries routes in order, one regex each, and these
    paths match no other route."""
    from starlette.routing import Route

    return [Route(f"{base}/infer", guard("v2", "infer", infer), methods=["POST"]) for base in BASES]


def routes(guard: Guard) -> list[BaseRoute]:
    """Every other v2 route."""
    from starlette.routing import Route

    routes: list[BaseRoute] = [
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
    ]
    for base in BASES:
        routes += [
            Route(base, guard("v2", "metadata", model_metadata), methods=["GET"]),
            Route(f"{base}/ready", guard("v2", "ready", model_ready), methods=["GET"]),
        ]
    return routes


def _json(content: Any, status: int = 200) -> Response:
    import orjson
    from starlette.responses import Response

    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json")


def _model(request: Request) -> ServedModel:
    served = served_model(request)
    version = request.path_params.get("model_version")
    if version is not None and version != VERSION:
        raise NotFound(f"model {served.name!r} has one version, {VERSION!r}; no version {version[:40]!r}")
    return served


async def server_metadata(request: Request) -> Response:
    return _json({"name": "flm", "version": __version__, "extensions": EXTENSIONS})


async def live(request: Request) -> Response:
    return _json({"live": True})


async def ready(request: Request) -> Response:
    # Models are loaded before the server accepts connections, so a server that answers is ready.
    return _json({"ready": True})


async def model_ready(request: Request) -> Response:
    served = _model(request)
    return _json({"name": served.name, "ready": True})


async def model_metadata(request: Request) -> Response:
    served = _model(request)
    sig = served.signature
    meta = getattr(served.model, "meta", None) or {}
    framework = meta.get("framework") if isinstance(meta, dict) else None
    platform = (framework or {}).get("lib", "") if isinstance(framework, dict) else ""
    return _json({
        "name": served.name, "versions": [VERSION], "platform": platform or "",
        "inputs": [tensor.as_json() for tensor in sig.inputs],
        "outputs": [tensor.as_json() for tensor in sig.outputs],
    })


async def infer(request: Request) -> Response:
    served = _model(request)
    body = await request.body()
    return await infer_answer(served, body, request.headers.get(HEADER_LENGTH), request.headers.get("content-type"))


async def infer_answer(served: ServedModel, body: bytes, header_length: str | None,
                       content_type: str | None = None) -> Response:
    """The answer to an infer request for `served`: its body, its Inference-Header-Content-Length if any, and its
    Content-Type, whose charset (utf-16, latin-1) the JSON is in where it declares one."""
    if not body:
        raise InputError('empty body; send {"inputs": [...]}', source="body")
    binary: memoryview | None = None
    if header_length is not None:
        # Digits only: int() also takes " 12", "+12", "1_2" and other scripts' digits, which no client sends.
        length = int(header_length) if header_length.isascii() and header_length.isdigit() else -1
        if not 0 <= length <= len(body):
            raise InputError(f"Inference-Header-Content-Length {header_length[:40]!r} is not a length within the "
                             f"{len(body)}-byte body", source="header", field="Inference-Header-Content-Length")
        binary = memoryview(body)[length:]
        header = body[:length]
    else:
        header = body
    if len(body) > _THREAD_ABOVE:
        from starlette.concurrency import run_in_threadpool

        document, batches = await run_in_threadpool(_parse, header, binary, served, content_type)
    else:
        document, batches = _parse(header, binary, served, content_type)
    wanted = _requested(document, served)
    # Every output asked for in one model call per batch: the rows' features are extracted once for all.
    methods = tuple(dict.fromkeys(method for method, _, _ in wanted))
    small = len(body) <= SMALL_BODY
    submit = served.batcher.submit_parts
    if len(batches) == 1:  # one batch (almost every request): no task and gather per request
        per_batch = [await submit(batches[0], methods, small=small)]
    else:
        per_batch = await asyncio.gather(*(submit(batch, methods, small=small) for batch in batches))
    results = {method: _values([parts[i] for parts in per_batch]) for i, method in enumerate(methods)}
    sig = served.signature
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for method, binary_out, class_count in wanted:
        values = results[method]
        spec = sig.output(method)
        assert spec is not None
        n = len(values)
        if class_count:
            k = min(class_count, values.shape[1])
            datatype, shape, data = "BYTES", [n, k], _classify(values, k, served)
        else:
            datatype = spec.datatype
            # the values' own width decides, so that shape and data agree whatever the metadata guessed
            shape = [n] if len(spec.shape) == 1 and values.shape[1] == 1 else [n, values.shape[1]]
            data = tensors.cast(values.reshape(-1), datatype)
        output: dict[str, Any] = {"name": method, "datatype": datatype, "shape": shape}
        if binary_out:
            raw = tensors.to_binary(data, datatype)
            output["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            output["data"] = data
        outputs.append(output)
    request_id = document.get("id")
    response: dict[str, Any] = {"model_name": served.name, "model_version": VERSION,
                                "id": new_id() if request_id is None else request_id, "outputs": outputs}
    return _answer(response, blobs)


def _values(parts: list[Part]) -> Any:
    """One method's outputs for the request's rows as a 2-D array: the model calls' own arrays where they are plain
    numbers (a view per part, no frame), else the Scored frames' `to_numpy()`."""
    arrays = [part.array() for part in parts]
    if all(array is not None and array.dtype.kind in "biuf" for array in arrays):
        if len(arrays) == 1:
            return arrays[0]
        import numpy as np

        return np.concatenate(arrays)
    return concat([part.scored() for part in parts]).outputs.to_numpy()


class _Ids:
    """Random (version 4) UUIDs, as `str(uuid.uuid4())` makes them, from 4 KiB of the OS's randomness at a time:
    uuid4 asks the kernel for 16 bytes per call, a system call per answer that sends no id."""

    def __init__(self) -> None:
        self.pool = b""
        self.at = 0

    def __call__(self) -> str:
        if self.at >= len(self.pool):
            self.pool, self.at = os.urandom(16 * 256), 0
        h = self.pool[self.at : self.at + 16].hex()
        self.at += 16
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


new_id = _Ids()


def _answer(response: dict[str, Any], blobs: list[bytes]) -> Response:
    import orjson
    from starlette.responses import Response

    head = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return Response(head, media_type="application/json")
    return Response(b"".join([head, *blobs]), media_type="application/octet-stream",
                    headers={"Inference-Header-Content-Length": str(len(head))})


def _parse(header: bytes, binary: memoryview | None, served: ServedModel,
           content_type: str | None = None) -> tuple[dict[str, Any], list[Batch]]:
    """The request document and its rows in batches of the batcher's size: row lists for a few rows, else the
    object matrix of the columns, in slices (columns.ColumnBatch). The JSON is decoded here from the charset its
    Content-Type declares, if not UTF-8 (binary tensors are bytes): off the event loop, with the parse, for a
    large body (media.as_utf8 decodes it a piece at a time, so that the loop runs between pieces)."""
    if not media.takes_as_is(content_type):
        header = media.as_utf8(content_type, "json", header)
    document, rows = _read(header, binary, served)
    size = served.batcher.max_batch_size
    if isinstance(rows, list):
        return document, records_batches(rows, size)
    if len(rows) <= INLINE_ROWS:
        return document, records_batches(rows.tolist(), size)
    return document, columns.batches(rows, SOURCE, size)


def _read(header: bytes, binary: memoryview | None, served: ServedModel) -> tuple[dict[str, Any], Any]:
    """The request document and its rows: a list of its one row where it is read in one pass (`_plain_row`),
    else the object matrix of its columns (`_matrix`), whose rows are what `/predict/` decodes of the same rows."""
    import orjson

    try:
        document = orjson.loads(header)
    except orjson.JSONDecodeError as error:
        # Binary data after a header that was not announced reads as bad UTF-8 or as characters after the JSON.
        unannounced = binary is None and ("UTF-8" in str(error) or "trailing" in str(error))
        hint = " (binary tensors need the Inference-Header-Content-Length header)" if unannounced else ""
        raise InputError(f"malformed JSON: {error}{hint}", source="body") from None
    if not isinstance(document, dict):
        raise InputError("expected an inference request object", source="body")
    if header.count(b":") > _keys(document):  # more colons than keys: a key given twice, or colons in strings
        _refuse_twice(header)
    request_id = document.get("id")
    if request_id is not None and (type(request_id) not in (str, int, float)):
        raise InputError("id must be a string (or a number, echoed as sent)", source="body", field="id")
    if type(request_id) is float or request_id == 0 and type(request_id) is int:
        document["id"] = _number_as_sent(header)
    if binary is None:
        row = _plain_row(document.get("inputs"), served)
        if row is not None:
            return document, [row]
    inputs = tensors.decode_inputs(document.get("inputs"), binary)
    named, n = _columns(inputs, served)
    return document, _matrix(named, n)


_NESTED = (dict, list)


def _keys(document: dict[str, Any]) -> int:
    """The keys of the objects in `document`. A list is looked into only when its first item is an object or a
    list: a tensor's data is numbers or strings throughout (a stray object in it is refused with the tensor). A loop
    over a stack, not recursion and generators: ~4.5 us for a one-row request of 10 tensors (17 us before)."""
    count = 0
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if item.__class__ is dict:
            count += len(item)
            for inner in item.values():
                kind = inner.__class__
                if kind is dict or kind is list and inner and inner[0].__class__ in _NESTED:
                    stack.append(inner)
        else:
            for inner in item:
                if inner.__class__ in _NESTED:
                    stack.append(inner)
    return count


def _refuse_twice(header: bytes) -> None:
    """Refuse a request giving a key twice in one object (two "inputs", a tensor's "datatype" twice): JSON leaves
    which is meant undefined, orjson keeps the last and Triton's parser the first, so the same request would be
    answered otherwise by each. Read again by the standard library, which shows every key, only when the colons
    outnumber the keys."""
    key = json_keys.twice_anywhere(header)
    if key is not None:
        raise InputError("given twice in one object (which value is meant, JSON leaves undefined)", source="body",
                         field=key[:40])


def _number_as_sent(header: bytes) -> Any:
    """The request's numeric id, as its text: orjson reads 1e2 as 100.0, -0 as 0, and an integer past 64 bits as
    the nearest double, so echoing its value would answer a different id. Rare (clients send strings), so the
    header is read again, by the standard library, which hands over each number's text."""
    import json

    import orjson

    try:
        text = json.loads(header, parse_float=str, parse_int=str)["id"]
    except (ValueError, RecursionError):
        raise InputError("a numeric id must be echoed as sent and this one cannot be; send it as a string",
                         source="body", field="id") from None
    return orjson.Fragment(text)


def _requested(document: dict[str, Any], served: ServedModel) -> list[tuple[str, bool, int]]:
    """(method, answer as binary, class_count) per requested output; every output when none are named."""
    parameters = document.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InputError("parameters must be an object", source="body", field="parameters")
    binary_all = _flag(parameters, "binary_data_output", False, "parameters")
    outputs = document.get("outputs")
    methods = served.methods
    if outputs is None:
        return [(method, binary_all, 0) for method in methods]
    if not isinstance(outputs, list) or not outputs:
        raise InputError("expected a non-empty array of {\"name\": ...}", source="body", field="outputs")
    wanted = []
    asked: dict[str, int] = {}
    for index, output in enumerate(outputs):
        where = f"outputs[{index}]"
        name = output.get("name") if isinstance(output, dict) else None
        if not isinstance(name, str):
            raise InputError("expected an object with a string name", source="body", field=where)
        if name not in methods:
            raise InputError(f"unknown output {name[:40]!r}; this model has {', '.join(methods)}", source="body",
                             field=f"{where}.name")
        if name in asked:
            # An answer names each output once (tritonclient's as_numpy(name) finds the first only).
            raise InputError(f"output {name!r} is asked for twice (outputs[{asked[name]}] and {where})",
                             source="body", field=f"{where}.name")
        asked[name] = index
        params = output.get("parameters") or {}
        if not isinstance(params, dict):
            raise InputError("parameters must be an object", source="body", field=where)
        binary = _flag(params, "binary_data", binary_all, f"{where}.parameters")
        class_count = params.get("classification", 0)
        if type(class_count) is not int or class_count < 0:
            raise InputError("classification must be a non-negative integer", source="body", field=where)
        if class_count and not _scores_classes(served, name):
            raise InputError(f"classification needs an output with one score per class; {name!r} has none "
                             "(ask for predict_proba)", source="body", field=where)
        wanted.append((name, binary, class_count))
    return wanted


def _flag(parameters: dict[str, Any], name: str, default: bool, where: str) -> bool:
    """A boolean parameter: "yes", 1 or "false" is refused rather than read as false (or as true)."""
    value = parameters.get(name)
    if value is None:
        return default
    if type(value) is not bool:
        raise InputError(f"{name} must be true or false, got {str(value)[:40]!r}", source="body", field=where)
    return value


def _scores_classes(served: ServedModel, method: str) -> bool:
    classes = getattr(served.predictor.estimator, "classes_", None)
    if classes is None or method not in ("predict_proba", "decision_function"):
        return False
    spec = served.signature.output(method)
    return spec is not None and len(spec.shape) == 2


def _classify(values: Any, k: int, served: ServedModel) -> list[str]:
    """Triton's classification extension: the top k "score:index:label" per row, best first."""
    import numpy as np

    classes = served.predictor.estimator.classes_
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    return [f"{values[row, col]}:{col}:{classes[col]}" for row in range(len(values)) for col in order[row]]


def _columns(inputs: list[tensors.Tensor], served: ServedModel) -> tuple[dict[str, Any], int]:
    """The input tensors as named columns (model order) and the row count."""
    spec = served.predictor.spec
    width = spec.expected
    first = inputs[0]
    if len(inputs) == 1 and len(first.shape) == 2 and (width is None or width != 1 or first.shape[1] == 1):
        n, k = first.shape
        if width is not None and k != width:
            raise InputError(f"shape {first.shape}: the model takes {width} features", source="body",
                             field=first.where)
        if first.datatype == "BYTES" and len(served.signature.numeric) == k:
            # A 2-D BYTES tensor carries a row of mixed types (the only tensor that can); a model of numbers only
            # has one FP64 input.
            _refuse_text(served, first, 0)
        names = spec.names if spec.names is not None else [str(i) for i in range(k)]
        values = first.values
        if isinstance(values, list):  # BYTES, or JSON floats: one list per column
            return {name: values[i::k] for i, name in enumerate(names)}, n
        matrix = values.reshape(n, k)
        return {name: matrix[:, i] for i, name in enumerate(names)}, n
    # One column per input.
    lengths = set()
    for tensor in inputs:
        shape = tensor.shape
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise InputError(f"a column input has shape [n] or [n, 1], got {shape}", source="body",
                             field=tensor.where)
        lengths.add(shape[0])
    if len(lengths) > 1:
        raise InputError(f"column inputs differ in length: {sorted(lengths)}", source="body", field="inputs")
    n = lengths.pop()
    numeric = served.signature.numeric
    if spec.names is not None:
        given = {tensor.name: tensor.values for tensor in inputs}
        if len(given) != len(inputs):
            raise InputError("input names repeat", source="body", field="inputs")
        at = served.feature_positions or {name: i for i, name in enumerate(spec.names)}
        unused = served.signature.unused
        used = [name for name in spec.names if name not in unused]
        missing = [name for name in used if name not in given]
        if missing:
            if not any(name in given for name in spec.names) and len(inputs) in (len(used), len(spec.names)):
                # Names the model does not know (input-0, input-1, ...): taken in the order sent.
                order = used if len(inputs) == len(used) else spec.names
                given = {name: tensor.values for name, tensor in zip(order, inputs)}
                sent = dict(zip(order, inputs))
            else:
                raise InputError(f"missing input; the model takes {', '.join(used)}", source="body",
                                 field=missing[0][:40])
        else:
            sent = {tensor.name: tensor for tensor in inputs}
        for name, tensor in sent.items():
            if tensor.datatype == "BYTES" and at.get(name) in numeric:
                _refuse_text(served, tensor, at[name])
        # Features the model never reads may be left out: they go in as nulls.
        return {name: given[name] if name in given else [None] * n for name in spec.names}, n
    if width is not None and len(inputs) != width:
        raise InputError(f"{len(inputs)} column inputs sent but the model takes {width} features",
                         source="body", field="inputs")
    for i, tensor in enumerate(inputs):
        if tensor.datatype == "BYTES" and i in numeric:
            _refuse_text(served, tensor, i)
    return {str(i): tensor.values for i, tensor in enumerate(inputs)}, n


def _refuse_text(served: ServedModel, tensor: tensors.Tensor, position: int) -> None:
    """A BYTES tensor for a feature the model takes as a number: refused whole, as Triton refuses a datatype the
    metadata does not give, rather than its text read as numbers (or a row at a time named bad)."""
    names = served.predictor.spec.names
    feature = f"feature {names[position]!r}" if names is not None and position < len(names) else "its features"
    advertised = next((spec.datatype for spec in served.signature.inputs
                       if names is not None and position < len(names) and spec.name == names[position]), "FP64")
    raise InputError(f"datatype BYTES, but the model takes numbers for {feature[:60]} ({advertised} in its "
                     "metadata); send the values as numbers with a numeric datatype", source="body",
                     field=tensor.where)


_INT64 = (-(2**63), 2**63)


def _plain_row(inputs: Any, served: ServedModel) -> list[Any] | None:
    """The row of what most single-row requests are, one JSON tensor of one value per feature, all named as the
    model names them, each plain (name, shape [1], datatype FP64, INT64 or BYTES, data of that type, nothing
    else): the row `_rows(_columns(decode_inputs(...)))` makes of it, made without tensors and arrays (FP64 values
    as floats, as numpy would make them). None for anything else, which the general path reads and checks."""
    positions = served.feature_positions
    if positions is None or type(inputs) is not list or len(inputs) != len(positions):
        return None
    row: list[Any] = [_MISSING] * len(positions)
    numeric = served.signature.numeric
    for spec in inputs:
        if type(spec) is not dict or len(spec) != 4:
            return None
        shape, data = spec.get("shape"), spec.get("data")
        if type(shape) is not list or len(shape) != 1 or type(shape[0]) is not int or shape[0] != 1:
            return None
        if type(data) is not list or len(data) != 1:
            return None
        value = data[0]
        kind, datatype = type(value), spec.get("datatype")
        if datatype == "FP64" and kind is float:
            pass
        elif datatype == "FP64" and kind is int and _INT64[0] <= value < _INT64[1]:
            value = float(value)
        elif datatype == "INT64" and kind is int and _INT64[0] <= value < _INT64[1]:
            pass
        elif not (datatype == "BYTES" and kind is str):
            return None
        name = spec.get("name")
        at = positions.get(name) if type(name) is str else None
        if at is None or row[at] is not _MISSING or datatype == "BYTES" and at in numeric:
            return None
        row[at] = value
    return row


_MISSING = object()


def _rows(named: dict[str, Any], n: int) -> list[list[Any]]:
    """The columns as positional rows in model order: what a `/predict/` body of the same rows decodes to, so
    both routes give the model the same input and share the predictor's fast path (and its batches)."""
    rows: list[list[Any]] = _matrix(named, n).tolist()
    return rows


def _matrix(named: dict[str, Any], n: int) -> Any:
    """The columns as one numpy object matrix in model order, filled a column at a time (no per-value Python
    work): `np.array(rows, dtype=object)` of its rows, which is what the predictor makes of a `/predict/` body's
    rows (features.matrix)."""
    import numpy as np

    matrix = np.empty((n, len(named)), dtype=object)
    for j, values in enumerate(named.values()):
        matrix[:, j] = values
    return matrix
