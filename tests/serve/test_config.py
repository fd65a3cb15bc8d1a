"""One set of serve defaults: `flm serve`'s options and `create_app`/`run` read them from ServeConfig."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest

from flmcli.cli.serve import serve
from flmcli.options import ServeConfig
from flmcli.predictor import Predictor
from flmcli.serve import create_app

CHURN = Path(__file__).resolve().parents[2] / "samples" / "churn.flm"
ROW = [10000, 15628319, "Walker", 792, "France", "Female", 28, 4, 130142.79, 1, 1, 0, 38190.78]


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.from_path(CHURN)


def test_every_serve_option_defaults_to_the_config() -> None:
    defaults = ServeConfig()
    options = {param.name: param.default for param in serve.params}
    settings = [field.name for field in fields(ServeConfig)]
    for name in settings:
        if name in ("trust", "trust_all"):
            continue
        assert options[name] == getattr(defaults, name), name


def post(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://flm.test") as client:
            return await client.post(path, **kwargs)

    return asyncio.run(send())


def test_create_app_limits_the_body_as_flm_serve_does(predictor: Predictor) -> None:
    # 64 MiB, as `flm serve --help` says; create_app used to allow 100 MiB.
    declared = ServeConfig().max_body_size + 1
    response = post(create_app(predictor), "/predict/", content=b"{}", headers={"content-length": str(declared)})
    assert response.status_code == 413
    assert str(ServeConfig().max_body_size) in response.json()["error"]


def test_create_app_takes_a_config_or_single_settings(predictor: Predictor) -> None:
    assert create_app(predictor).state.guard.timeout == ServeConfig().timeout == 30.0
    assert create_app(predictor, ServeConfig(timeout=5.0)).state.guard.timeout == 5.0
    assert create_app(predictor, timeout=7.0).state.guard.timeout == 7.0
    small = create_app(predictor, max_body_size=200)
    assert post(small, "/predict/", json={"input": [ROW] * 10}).status_code == 413
    assert post(small, "/predict/", json={"input": [ROW]}).json() == {"output": [0]}
    with pytest.raises(TypeError):
        create_app(predictor, max_body=100)


def test_the_config_travels_to_workers_as_json() -> None:
    config = ServeConfig(port=9001, trust=("a.b",), timeout=None)
    assert ServeConfig.from_json(config.to_json()) == config
