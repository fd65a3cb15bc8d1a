"""`flm pack` refuses, before writing, an -o that is one of its own inputs (the pickle, a JSON file, an artifact:
it was replaced by the FLM file), and a --params/--metrics/--extra file that is JSON but not an object (it was an
'unexpected TypeError')."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.helpers import invoke


@pytest.fixture
def estimator(tmp_path: Path) -> Path:
    path = tmp_path / "est.pkl"
    path.write_bytes(pickle.dumps(LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])))
    return path


@pytest.mark.parametrize("which", ["estimator", "metrics", "artifact"])
def test_an_output_that_is_an_input_is_refused(tmp_path: Path, estimator: Path, which: str) -> None:
    (tmp_path / "metrics.json").write_text('{"acc": 1}')
    (tmp_path / "artifact.json").write_text("{}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    target = {"estimator": estimator, "metrics": tmp_path / "metrics.json", "artifact": tmp_path / "artifact.json"}
    ran = invoke("pack", estimator, "-o", target[which], "--metrics", tmp_path / "metrics.json",
                 "--artifact", tmp_path / "artifact.json")
    assert ran.returncode == 2, ran.stderr
    assert "would replace" in ran.stderr.decode()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("option", ["--params", "--metrics", "--extra"])
def test_json_that_is_not_an_object_names_the_file(tmp_path: Path, estimator: Path, option: str) -> None:
    (tmp_path / "list.json").write_text("[1, 2]")
    ran = invoke("pack", estimator, "-o", tmp_path / "m.flm", option, tmp_path / "list.json")
    assert ran.returncode == 1, ran.stderr
    err = ran.stderr.decode()
    assert "list.json" in err and option in err and "object" in err and "unexpected" not in err, err
    assert not (tmp_path / "m.flm").exists()
