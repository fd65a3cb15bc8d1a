"""The server freezes what start-up built (gc.freeze) so full collections under load skip it; see
bench/bench_mlserver.py and the report for the figures."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from flmcli.serve import runner

CHURN = Path(__file__).resolve().parents[2] / "samples" / "churn.flm"


def test_run_freezes_the_loaded_heap_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def fake_run(app: Any, **settings: Any) -> None:
        seen["frozen"] = gc.get_freeze_count()
        seen["models"] = list(app.state.models)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    gc.unfreeze()
    try:
        runner.run({"churn": str(CHURN)}, port=1)
        # Every object alive once the models are loaded, the estimator's among them.
        assert seen["models"] == ["churn"]
        assert seen["frozen"] > 10_000
    finally:
        gc.unfreeze()
