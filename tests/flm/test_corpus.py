"""Every file of the shared FLM corpus, read against its manifest entry."""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

import numpy as np
import pytest

import flmcli.flm as flm
from flmcli.errors import ModelFileError
from tests.helpers import CORPUS

MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if (CORPUS / "manifest.json").exists() else {"files": []}
ENTRIES = {entry["file"]: entry for entry in MANIFEST["files"]}

pytestmark = pytest.mark.skipif(not ENTRIES, reason=f"FLM corpus not found at {CORPUS}")


def _kind(entry: dict[str, Any]) -> str:
    outcome = entry["expected_outcome"]
    if entry["file"].startswith("demo-"):
        return "skew"
    if "bundle_files" in entry:
        return "bundle"
    if outcome.startswith("must be refused"):
        return "refuse"
    return "load"


LOADABLE = [name for name, entry in ENTRIES.items() if _kind(entry) in ("load", "skew", "bundle")]
PREDICTABLE = [name for name, entry in ENTRIES.items() if _kind(entry) == "load"]
REFUSED = [name for name, entry in ENTRIES.items() if _kind(entry) == "refuse"]

# what each refusal must say: the specific problem, not just "cannot load"
REFUSAL_WORDS = {
    "flama-1.4.0_iris-logreg_bz2_tar.flm": "empty 'model' member",
    "flama-1.7.2_iris-logreg_bz2_tar.flm": "empty 'model' member",
    "malformed_bodysize_overflow_p1.flm": "body_size is 19030",
    "malformed_bodysize_overflow_p2.flm": "body_size is 19035",
    "malformed_compression7_p2.flm": "unknown compression id 7",
    "malformed_legacy_traversal.flm": "artifacts/../evil.txt",
    "malformed_protocol3_p2.flm": "unknown protocol 3",
    "malformed_traversal_p2.flm": "unsafe artifact name '../evil.txt'",
    "malformed_truncated_header.flm": "shorter than the 16-byte header",
    "malformed_truncated_p2.flm": "truncated",
}


def _rows(entry: dict[str, Any]) -> np.ndarray:
    dtype = object if "object" in entry["input"]["kind"] else np.float64
    return np.array(entry["input"]["rows"], dtype=dtype)


def test_every_refused_file_has_an_expected_message() -> None:
    assert sorted(REFUSED) == sorted(REFUSAL_WORDS)


def test_file_bytes_match_manifest() -> None:
    for name, entry in ENTRIES.items():
        assert hashlib.sha256((CORPUS / name).read_bytes()).hexdigest() == entry["sha256"], name


@pytest.mark.parametrize("name", LOADABLE)
def test_metadata_and_artifacts(name: str) -> None:
    entry = ENTRIES[name]
    model = flm.load(CORPUS / name)
    expected = entry["expected_meta"]
    assert model.layout == entry["layout"]
    assert model.protocol == entry["protocol"]
    assert model.compression == entry["compression"]
    assert model.id == expected["id"]
    assert model.timestamp == expected["timestamp"]
    assert model.meta["framework"] == expected["framework"]
    assert model.lib == expected["framework"]["lib"]
    assert model.obj == expected["model"]["obj"]
    assert model.params == expected["model"]["params"]
    assert model.metrics == expected["model"]["metrics"]
    assert model.extra == expected["extra"]
    assert model.capabilities == expected.get("capabilities")
    assert (model.info is None) == expected["info_is_null"]
    assert list(model.meta) == expected["top_level_keys"]
    assert list(model.meta["model"]) == expected["model_keys"]
    assert sorted(model.artifacts) == sorted(entry["artifacts"])
    for artifact, facts in entry["artifacts"].items():
        content = model.artifacts[artifact]
        assert hashlib.sha256(content).hexdigest() == facts["sha256"]
        assert content.decode("utf-8") == facts["content"]
    if "pickle_sha256" in entry.get("model_payload", {}):
        assert hashlib.sha256(model.payload).hexdigest() == entry["model_payload"]["pickle_sha256"]


@pytest.mark.parametrize("name", PREDICTABLE)
def test_predictions_are_exact(name: str) -> None:
    entry = ENTRIES[name]
    estimator = flm.load(CORPUS / name).estimator
    X = _rows(entry)
    assert estimator.predict(X).tolist() == entry["expected_outputs"]["predict"]
    if "predict_proba" in entry["expected_outputs"]:
        assert estimator.predict_proba(X).tolist() == entry["expected_outputs"]["predict_proba"]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_with_a_clear_message(name: str) -> None:
    with pytest.raises(ModelFileError) as caught:
        model = flm.load(CORPUS / name)
        model.estimator  # noqa: B018 - a refusal may only surface when the model is used
    message = str(caught.value)
    assert REFUSAL_WORDS[name] in message
    assert str(CORPUS / name) in message
    assert "\n" not in message


@pytest.mark.parametrize("name", [n for n in ENTRIES if "nonascii" in n])
def test_non_ascii_artifact_name_recovered_exactly(name: str) -> None:
    model = flm.load(CORPUS / name)
    assert model.artifacts == {k: v["content"].encode() for k, v in ENTRIES[name]["artifacts"].items()}
    assert list(model.artifacts) == ["café.json"]


def test_bundle_files_extracted_in_memory() -> None:
    name = "flama-2.2.2_tiny-llm-bundle_zstd_p2.flm"
    model = flm.load(CORPUS / name)
    assert model.kind == "bundle"
    assert model.bundle_files is not None
    expected = ENTRIES[name]["bundle_files"]
    assert sorted(model.bundle_files) == sorted(expected)
    for member, facts in expected.items():
        assert hashlib.sha256(model.bundle_files[member]).hexdigest() == facts["sha256"]
    with pytest.raises(ModelFileError, match="cannot run bundle models yet"):
        model.estimator  # noqa: B018


def test_demo_2023_version_skew_is_one_line_error() -> None:
    model = flm.load(CORPUS / "demo-2023_churn_bz2_tar.flm")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ModelFileError) as caught:
            model.estimator  # noqa: B018
    message = str(caught.value)
    assert "1.2.2" in message and "1.9.1" in message and "\n" not in message
    ours = [w for w in seen if issubclass(w.category, flm.FrameworkVersionWarning)]
    assert len(ours) == 1 and "1.2.2" in str(ours[0].message)
    # scikit-learn's own per-estimator InconsistentVersionWarning noise is silenced
    assert [w for w in seen if "InconsistentVersionWarning" in w.category.__name__] == []


@pytest.mark.parametrize("name", LOADABLE)
def test_inspect_shape(name: str) -> None:
    model = flm.load(CORPUS / name)
    shown = model.inspect()
    assert list(shown) == ["meta", "manifest"]
    assert shown["manifest"] == list(ENTRIES[name]["artifacts"])
    meta = shown["meta"]
    assert meta["id"] == ENTRIES[name]["expected_meta"]["id"]
    assert list(meta["framework"]) == ["family", "lib", "version", "config"]
    assert list(meta["model"]) == ["obj", "info", "params", "metrics"]
    assert ("capabilities" in meta) == ("capabilities" in ENTRIES[name]["expected_meta"])


def test_load_never_imports_sklearn() -> None:
    import subprocess
    import sys

    code = (
        "import sys, flmcli.flm as flm\n"
        f"m = flm.load({str(CORPUS / 'flama-2.2.2_churn_zstd_p2.flm')!r}); m.inspect(); m.audit()\n"
        "print(sorted(k for k in ('sklearn', 'numpy', 'pandas') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_from_stream() -> None:
    name = "flama-2.2.2_iris-logreg_zstd_p2.flm"
    with open(CORPUS / name, "rb") as handle:
        model = flm.load(handle)
    assert model.id == ENTRIES[name]["expected_meta"]["id"]
    assert model.path == str(CORPUS / name)


def test_artifact_files_are_temporary() -> None:
    model = flm.load(CORPUS / "flama-2.2.2_churn_zstd_p2.flm")
    with model.artifact_files() as files:
        path = files["artifact.json"]
        assert path.read_bytes() == model.artifacts["artifact.json"]
    assert not path.exists()
    assert not path.parent.exists()
