"""Starting uvicorn: load every model first (a bad file is a ModelFileError before any socket opens),
then serve. With several workers uvicorn needs an import string, so the options travel in FLM_SERVE_CONFIG
and each worker process builds its own app (and loads its own models) in `app_from_env`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import FlmError, ModelFileError
from ..options import PredictOptions, ServeConfig

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..predictor import Predictor

CONFIG_ENV = "FLM_SERVE_CONFIG"
FACTORY = "flmcli.serve.runner:app_from_env"


def load_predictors(models: Mapping[str, str], options: PredictOptions | None = None) -> dict[str, Predictor]:
    """{name: path} as predictors built from `options` (default: `flm predict`'s; a server passes
    `ServeConfig.predict_options()`)."""
    from ..predictor import Predictor

    options = options or PredictOptions()

    predictors: dict[str, Predictor] = {}
    for name, path in models.items():
        if not name or "/" in name:
            raise FlmError(f"model name {name!r} cannot be part of a URL path")
        try:
            predictors[name] = Predictor.from_options(path, options)
        except ModelFileError:
            raise
        except OSError as error:
            raise ModelFileError(error.strerror or str(error), path=str(path)) from None
        except FlmError as error:
            # e.g. the method does not exist on this estimator: the model cannot run as asked.
            raise ModelFileError(str(error), path=str(path)) from None
    return predictors


def app_from_env() -> Starlette:
    """The app factory each uvicorn worker calls (`--workers N`)."""
    from .app import create_app

    document = json.loads(os.environ[CONFIG_ENV])
    config = ServeConfig.from_json(document["config"])
    from .protocol import configure

    configure(config.header_timeout)
    predictors = load_predictors(document["models"], config.predict_options())
    app = create_app(predictors, config)
    freeze_heap()
    return app


def freeze_heap() -> None:
    """Keep what start-up built (libraries, models: ~150k objects) out of every later garbage collection.

    Python's full collections walk every tracked object; with scikit-learn, pandas and the models loaded each
    took tens to hundreds of milliseconds under load, a stall of the event loop and the model alike, every few
    hundred requests. Collected first, so only live objects are frozen; they are still freed by reference count.
    """
    import gc

    gc.collect()
    gc.freeze()


def log_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging, with the access log on stderr (stdout is for data, never for logs)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = json.loads(json.dumps(LOGGING_CONFIG))
    for handler in config["handlers"].values():
        handler["stream"] = "ext://sys.stderr"
    config["loggers"]["flm.serve"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    return config


def run(models: Mapping[str, str], config: ServeConfig | None = None, **settings: Any) -> None:
    """Serve `models` ({name: path}) until interrupted; ModelFileError if one cannot be loaded.

    `config` (or single `settings` over it, e.g. `port=9000`) has `flm serve`'s defaults.
    """
    config = (config or ServeConfig()).replace(**settings)
    try:
        import uvicorn
    except ImportError:
        raise FlmError("flm serve needs: pip install 'flmcli[serve]'") from None
    from .app import create_app

    # Load here even with workers: a bad model fails the command (exit 3) before uvicorn starts.
    predictors = load_predictors(models, config.predict_options())
    from .protocol import HeaderDeadlineProtocol, configure

    configure(config.header_timeout)
    common: dict[str, Any] = {
        "host": config.host, "port": config.port, "log_level": config.log_level,
        "log_config": log_config(config.log_level),
        "timeout_graceful_shutdown": config.timeout if config.timeout else None,
        # Request headers must arrive within config.header_timeout seconds (10 by default), and stay
        # under 64 KiB, h11's bound, which the protocol holds httptools to too; a body is bounded by
        # --max-body-size and --timeout.
        "http": HeaderDeadlineProtocol,
    }
    try:
        if config.workers > 1:
            os.environ[CONFIG_ENV] = json.dumps({"models": dict(models), "config": config.to_json()})
            del predictors
            uvicorn.run(FACTORY, factory=True, workers=config.workers, **common)
        else:
            app = create_app(predictors, config)
            freeze_heap()
            uvicorn.run(app, **common)
    except SystemExit as done:
        from uvicorn.config import STARTUP_FAILURE

        # uvicorn's status for "cannot listen" is 3, which is flm's "model file unreadable": say it our way.
        if done.code == STARTUP_FAILURE:
            raise FlmError(f"cannot listen on {config.host}:{config.port} (the reason is logged above)") from None
        raise
    sys.stderr.flush()
