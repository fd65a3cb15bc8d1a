"""samples/churn_loss.py's docstring shows the answer its endpoint really gives for the request it shows."""

from __future__ import annotations

import importlib.util
import json
import re

from tests.helpers import ROOT

SAMPLE = ROOT / "samples" / "churn_loss.py"


def test_the_docstring_shows_the_real_output() -> None:
    from starlette.testclient import TestClient

    spec = importlib.util.spec_from_file_location("churn_loss_sample", SAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = module.__doc__
    body = re.search(r"-d '(.*?)'", doc, re.DOTALL)
    shown = re.search(r"^\s*(\{\"output\".*\})\s*$", doc, re.MULTILINE)
    assert body is not None and shown is not None
    with TestClient(module.build_app(str(ROOT / "samples" / "churn.flm"))) as client:
        response = client.post("/churn/loss/", content=" ".join(body.group(1).split()))
    assert response.status_code == 200
    assert response.json() == json.loads(shown.group(1))
