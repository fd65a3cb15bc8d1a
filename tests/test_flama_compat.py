"""Files written by flmcli.dump load in the real Flama releases, with identical predictions and metadata.

Real models are trained here, dumped with every protocol x codec, and loaded by Flama 2.2.2 (protocols 1 and 2)
and Flama 1.12.4 (protocol 1) running in throwaway virtual environments (compat/flama_env.py), through
compat/flama_load.py. Building the environments needs PyPI; without it the module fails under CI and is skipped
locally (set FLM_COMPAT_REQUIRED=1 to make it fail locally too).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "compat"))

import flama_env  # noqa: E402  (compat/ is a script folder, not a package)

# the Flama venv runs (module fixtures) happen once, on one xdist worker
pytestmark = pytest.mark.xdist_group("flama-compat")

CHURN_DATA = Path(__file__).resolve().parents[1] / "data"
LOADER = ROOT / "compat" / "flama_load.py"

CODECS = ("bz2", "lzma", "zlib", "zstd")
PROTOCOLS = (1, 2)
# Protocol 2 lets each section pick its codec (docs/format.md §7); Flama 2.x must follow every choice.
SECTION_VARIANTS: dict[str, dict[str, Any]] = {
    "mixed": {"compression": "zstd", "meta_compression": None, "artifact_compression": "bz2",
              "model_compression": "lzma"},
    "raw": {"compression": "zlib", "meta_compression": None, "artifact_compression": None,
            "model_compression": None},
}
# Which protocols each release must read (docs/format.md §11).
READERS = {"2.2.2": (1, 2), "1.12.4": (1,)}
MODELS = ("iris", "churn")

TIMESTAMP = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
PARAMS = {"C": 1.0, "max_iter": 500, "note": "ünïcödé ✓"}
METRICS = {"accuracy": 0.9733333333333334, "roc_auc": 0.123456789012345678}
EXTRA = {"owner": "flm", "tags": ["compat", "ci"], "nested": {"n": 1, "none": None}}


def _codecs(protocol: int) -> tuple[str, ...]:
    return CODECS + tuple(SECTION_VARIANTS) if protocol == 2 else CODECS


def _required() -> bool:
    truthy = {"1", "true", "yes"}
    return os.environ.get("CI", "").lower() in truthy or os.environ.get("FLM_COMPAT_REQUIRED", "").lower() in truthy


@dataclass
class TrainedModel:
    name: str
    estimator: Any
    rows: list[list[Any]]
    dtype: str  # "float64" or "object": how both sides build the input array from `rows`


@dataclass
class DumpedFile:
    model: TrainedModel
    protocol: int
    codec: str
    path: Path
    model_id: str


def _array(rows: list[list[Any]], dtype: str) -> Any:
    import numpy as np

    return np.array(rows, dtype=object if dtype == "object" else np.float64)


def _train_iris() -> TrainedModel:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(features, target)
    return TrainedModel("iris", model, features[::15].tolist(), "float64")


def _train_churn() -> TrainedModel:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.read_parquet(CHURN_DATA / "data.parquet").sample(n=1500, random_state=7)
    target = frame.pop("Exited").to_numpy()
    # Plain Python values through JSON, exactly as the Flama side will rebuild them, so both predict on equal input.
    rows = json.loads(json.dumps(frame.astype(object).to_numpy().tolist()))
    columns = list(frame.columns)
    numeric = [columns.index(c) for c in ("CreditScore", "Age", "Tenure", "Balance", "NumOfProducts",
                                           "HasCrCard", "IsActiveMember", "EstimatedSalary")]
    categorical = [columns.index(c) for c in ("Geography", "Gender")]
    preprocessing = ColumnTransformer([
        ("numerical", Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]),
         numeric),
        ("categorical", Pipeline([("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
    ])
    model = Pipeline([("preprocessing", preprocessing), ("classifier", LogisticRegression(max_iter=500))])
    model.fit(_array(rows[:1400], "object"), target[:1400])
    return TrainedModel("churn", model, rows[1400:1425], "object")


@pytest.fixture(scope="session")
def flama_pythons() -> dict[str, Path]:
    """The interpreters of the Flama environments, built once per cache (a minute or two the first time)."""
    pythons = {}
    for release in READERS:
        try:
            pythons[release] = flama_env.ensure_env(release).python
        except flama_env.EnvBuildError as exc:
            message = f"cannot build the Flama {release} environment (needs PyPI): {exc}"
            if _required():
                pytest.fail(message)
            pytest.skip(message)
    return pythons


@pytest.fixture(scope="module")
def artifact_bytes() -> bytes:
    return (CHURN_DATA / "artifact.json").read_bytes()


@pytest.fixture(scope="module")
def dumped(tmp_path_factory: pytest.TempPathFactory, artifact_bytes: bytes) -> dict[tuple[str, int, str], DumpedFile]:
    import flmcli

    folder = tmp_path_factory.mktemp("flama-compat")
    artifact = folder / "artifact.json"
    artifact.write_bytes(artifact_bytes)
    files = {}
    for model in (_train_iris(), _train_churn()):
        for protocol in PROTOCOLS:
            for codec in _codecs(protocol):
                path = folder / f"{model.name}_p{protocol}_{codec}.flm"
                model_id = str(uuid.uuid5(uuid.NAMESPACE_URL, path.name))
                compression = SECTION_VARIANTS.get(codec, {"compression": codec})
                flmcli.dump(model.estimator, path, model_id=model_id, timestamp=TIMESTAMP, params=PARAMS,
                            metrics=METRICS, extra=EXTRA, artifacts={"artifact.json": artifact},
                            protocol=protocol, **compression)
                files[(model.name, protocol, codec)] = DumpedFile(model, protocol, codec, path, model_id)
    return files


@pytest.fixture(scope="module")
def flama_results(flama_pythons: dict[str, Path],
                  dumped: dict[tuple[str, int, str], DumpedFile]) -> dict[tuple[str, str, int, str], dict[str, Any]]:
    """One loader run per release over every file it must read; results keyed by (release, model, protocol, codec).
    The releases' runs go side by side: each is a process that spends its time importing Flama and scikit-learn."""
    from concurrent.futures import ThreadPoolExecutor

    def load(release: str, protocols: tuple[int, ...]) -> dict[tuple[str, str, int, str], dict[str, Any]]:
        chosen = {key: f for key, f in dumped.items() if f.protocol in protocols}
        job = {"files": [{"path": str(f.path), "rows": f.model.rows, "dtype": f.model.dtype} for f in chosen.values()]}
        proc = subprocess.run([str(flama_pythons[release]), str(LOADER)], input=json.dumps(job),
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"flama_load.py under Flama {release} failed:\n{proc.stderr[-3000:]}"
        report = json.loads(proc.stdout)
        assert report["flama"] == release
        return {(release, *key): result for key, result in zip(chosen, report["results"], strict=True)}

    results = {}
    with ThreadPoolExecutor(max_workers=len(READERS)) as pool:
        for found in pool.map(lambda item: load(*item), READERS.items()):
            results.update(found)
    return results


CASES = [
    pytest.param(release, model, protocol, codec, id=f"flama{release}-{model}-p{protocol}-{codec}")
    for release, protocols in READERS.items()
    for model in MODELS
    for protocol in protocols
    for codec in _codecs(protocol)
]


@pytest.mark.parametrize(("release", "model", "protocol", "codec"), CASES)
def test_flama_loads_flm_file(release: str, model: str, protocol: int, codec: str,
                              dumped: dict[tuple[str, int, str], DumpedFile],
                              flama_results: dict[tuple[str, str, int, str], dict[str, Any]],
                              artifact_bytes: bytes) -> None:
    import sklearn

    written = dumped[(model, protocol, codec)]
    result = flama_results[(release, model, protocol, codec)]
    assert result["error"] is None, f"Flama {release} could not use {written.path.name}: {result['error']}\n" \
                                    f"{result.get('traceback', '')}"

    estimator = written.model.estimator
    data = _array(written.model.rows, written.model.dtype)
    assert result["model_class"] == type(estimator).__name__
    assert result["predict"] == estimator.predict(data).tolist()
    assert result["predict_proba"] == estimator.predict_proba(data).tolist()

    meta = result["meta"]
    assert str(meta["id"]) == written.model_id
    assert datetime.fromisoformat(meta["timestamp"]) == TIMESTAMP
    assert meta["framework"]["lib"] == "sklearn"
    assert meta["framework"]["version"] == sklearn.__version__
    assert meta["model"]["obj"] == type(estimator).__name__
    assert meta["model"]["params"] == PARAMS
    assert meta["model"]["metrics"] == METRICS
    assert meta["extra"] == EXTRA

    assert result["artifacts"] == {"artifact.json": hashlib.sha256(artifact_bytes).hexdigest()}
