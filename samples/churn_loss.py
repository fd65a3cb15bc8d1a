"""The Flama churn tutorial's custom endpoint on flm serve: POST /churn/loss/.

    python samples/churn_loss.py churn.flm --port 8000
    curl -X POST localhost:8000/churn/loss/ -d '{"input": [[10000, 15628319, "Walker", 792, "France",
        "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]]}'
    {"output":[-2189.154457571721]}

For each row, the expected loss is P(churn) × (agents_per_client × income − operational_cost), with the two
parameters read from the model file's own `artifact.json` and the income the row's EstimatedSalary (its
last field). Every other route of `flm serve` (/churn/predict/, /v2/..., /docs/) is served beside it.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response


async def loss(request: Request) -> Response:
    """Expected loss per client: P(churn) × (agents_per_client × EstimatedSalary − operational_cost)."""
    import numpy as np
    from starlette.responses import JSONResponse

    from flmcli.errors import InputError
    from flmcli.serve import served_model

    served = served_model(request, "churn")
    params = json.loads(served.artifacts["artifact.json"])
    try:
        rows = (await request.json())["input"]
    except (ValueError, KeyError, TypeError):
        raise InputError('send {"input": [[...], ...]}', source="body", field="input") from None
    if not isinstance(rows, list):
        raise InputError("expected an array of rows", source="body", field="input")
    # Scored through the server's batcher: the same predictor and row checks as /churn/predict/.
    scored = await served.predict(rows, method="predict_proba")
    classes = [str(c) for c in served.predictor.estimator.classes_]
    churn = scored.outputs[classes[classes.index("1")]].to_numpy(dtype=float)
    try:
        income = np.array([_income(row) for row in rows], dtype=float)
    except (TypeError, ValueError, KeyError, IndexError):
        raise InputError("EstimatedSalary must be a number", source="input", field="EstimatedSalary") from None
    value = churn * (params["agents_per_client"] * income - params["operational_cost"])
    return JSONResponse({"output": value.tolist()})


def _income(row: Any) -> Any:
    return row["EstimatedSalary"] if isinstance(row, dict) else row[-1]


def build_app(path: str, **options: Any) -> Starlette:
    from starlette.routing import Route

    from flmcli.predictor import Predictor
    from flmcli.serve import create_app

    return create_app(
        {"churn": Predictor.from_path(path)},
        routes=[Route("/churn/loss/", loss, methods=["POST"], name="churn-loss")],
        **options,
    )


def main() -> None:
    import uvicorn

    from flmcli.serve.runner import log_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the churn model file (.flm)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(build_app(args.model), host=args.host, port=args.port, log_config=log_config("info"))


if __name__ == "__main__":
    main()
