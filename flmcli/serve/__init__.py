"""`flm serve`: FLM models over HTTP, Flama-compatible and Open Inference Protocol v2.

Nothing heavy is imported here: `create_app` and `run` import starlette and uvicorn when called.

    from flmcli.serve import create_app, served_model
    app = create_app({"churn": Predictor.from_path("churn.flm")}, routes=[Route("/churn/loss/", loss)])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .models import ServedModel, served_model
    from .runner import app_from_env, load_predictors, run

__all__ = ["ServedModel", "app_from_env", "create_app", "load_predictors", "run", "served_model"]

_HOMES = {
    "create_app": "app",
    "ServedModel": "models",
    "served_model": "models",
    "run": "runner",
    "app_from_env": "runner",
    "load_predictors": "runner",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
