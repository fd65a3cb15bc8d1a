"""`flm inspect`, `flm inspect --audit`, `flm pack` and `flm --version`, as a user runs them."""

from __future__ import annotations

import pickle
from pathlib import Path

import orjson
import pytest

import flmcli
from tests.helpers import CHURN, CORPUS, ROOT, invoke, manifest


def test_version() -> None:
    result = invoke("--version")
    assert result.stdout.decode() == f"flm {flmcli.__version__}\n"


@pytest.mark.parametrize("name", ["flama-2.2.2_churn_zstd_p2.flm", "flama-1.4.0_churn_bz2_tar.flm", "flama-1.0.2_iris-logreg_zlib_bare.flm"])
def test_inspect_prints_flamas_document(name: str) -> None:
    entry = manifest()[name]
    result = invoke("inspect", CORPUS / name)
    assert result.returncode == 0, result.stderr
    document = orjson.loads(result.stdout)
    assert set(document) == {"meta", "manifest"}
    assert document["meta"]["id"] == entry["expected_meta"]["id"]
    assert document["meta"]["model"]["metrics"] == entry["expected_meta"]["model"]["metrics"]
    assert sorted(document["manifest"]) == sorted(entry["artifacts"])


def test_inspect_refuses_a_malformed_file_in_one_line() -> None:
    result = invoke("inspect", CORPUS / "malformed_traversal_p2.flm")
    assert result.returncode == 3
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("Error: ") and "malformed_traversal_p2.flm" in lines[0] and "evil.txt" in lines[0]
    assert b"Traceback" not in result.stderr


def test_audit_lists_imports() -> None:
    result = invoke("inspect", "--audit", CHURN)
    document = orjson.loads(result.stdout)
    assert document["trusted"] is True
    assert {"name": "sklearn.pipeline.Pipeline", "trusted": True} in document["imports"]


class Gadget:
    """Pickles as a call to os.system: what a hostile model file carries."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, (f"touch {MARKER}",)


MARKER = Path("/nonexistent")


def test_pack_refuses_a_gadget_without_running_it(tmp_path: Path) -> None:
    global MARKER
    MARKER = tmp_path / "pwned"
    source = tmp_path / "evil.pkl"
    source.write_bytes(pickle.dumps(Gadget()))
    result = invoke("pack", source, "-o", tmp_path / "evil.flm")
    assert result.returncode == 3
    assert "untrusted names: posix.system" in result.stderr.decode()
    assert "--trust" in result.stderr.decode()
    assert not MARKER.exists()
    assert not (tmp_path / "evil.flm").exists()


def test_pack_then_predict(tmp_path: Path) -> None:
    model = flmcli.load(CHURN).estimator
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(model))
    (tmp_path / "metrics.json").write_text('{"auc": 0.8}')
    target = tmp_path / "m.flm"
    result = invoke("pack", tmp_path / "m.pkl", "-o", target, "--metrics", tmp_path / "metrics.json",
                 "--artifact", f"artifact.json={ROOT / 'data' / 'artifact.json'}", "--protocol", "1", "--compression", "bz2")
    assert result.returncode == 0, result.stderr
    packed = flmcli.load(target)
    assert packed.protocol == 1 and packed.metrics == {"auc": 0.8}
    assert packed.artifacts["artifact.json"] == (ROOT / "data" / "artifact.json").read_bytes()
    rows = (ROOT / "data" / "input.json").read_bytes()
    assert invoke("predict", target, input=rows).stdout == invoke("predict", CHURN, input=rows).stdout
