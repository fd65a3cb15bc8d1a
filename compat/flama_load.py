"""Load FLM files with whatever Flama release is installed in this interpreter, and report what it got.

Runs INSIDE a Flama environment built by ``flama_env.py``; it must never import flmcli, since the point is to
see the files through Flama's own eyes. Reads one JSON job on stdin:

    {"files": [{"path": "/x/model.flm", "rows": [[...], ...], "dtype": "float64" | "object"}, ...]}

and writes one JSON document on stdout:

    {"flama": "2.2.2", "sklearn": "1.9.1", "numpy": "2.4.6",
     "results": [{"path": ..., "error": null | "ExcType: message",
                  "meta": {...}, "artifacts": {name: sha256 of the bytes}, "model_class": "Pipeline",
                  "predict": [...] | null, "predict_proba": [[...]] | null}, ...]}

A file that fails to load or predict yields its ``error`` string; the other files are still tried.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import traceback
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any


def _release_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def _load(path: str, release: tuple[int, ...]) -> Any:
    import flama

    # The load signature changed twice (docs/format.md §12): a stream in 1.0.x, a path in 1.1 - 1.11,
    # a keyword `path=` from 1.12 on.
    if release < (1, 1):
        with open(path, "rb") as stream:
            return flama.load(stream)
    if release < (1, 12):
        return flama.load(path)
    return flama.load(path=path)


def _meta_dict(meta: Any) -> Any:
    if hasattr(meta, "to_dict"):
        return meta.to_dict()
    return meta


def _artifact_digests(loaded: Any) -> dict[str, str]:
    artifacts = getattr(loaded, "artifacts", None) or {}
    digests = {}
    for name, location in artifacts.items():
        digests[name] = hashlib.sha256(Path(location).read_bytes()).hexdigest() if location else None
    return digests


def _tolist(values: Any) -> Any:
    return values.tolist() if hasattr(values, "tolist") else values


def _check_file(job: dict[str, Any], release: tuple[int, ...]) -> dict[str, Any]:
    import numpy as np

    result: dict[str, Any] = {"path": job["path"], "error": None, "meta": None, "artifacts": None,
                              "model_class": None, "predict": None, "predict_proba": None}
    try:
        loaded = _load(job["path"], release)
        result["meta"] = _meta_dict(loaded.meta)
        result["artifacts"] = _artifact_digests(loaded)
        model = loaded.model  # 2.x materialises the model lazily here, so this is part of "loading"
        result["model_class"] = type(model).__name__
        rows = job.get("rows")
        if rows:
            data = np.array(rows, dtype=object if job.get("dtype") == "object" else np.float64)
            result["predict"] = _tolist(model.predict(data))
            if hasattr(model, "predict_proba"):
                result["predict_proba"] = _tolist(model.predict_proba(data))
    except Exception as exc:  # report every failure as data: the caller decides which ones are expected
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc(limit=5)
    return result


def main() -> int:
    job = json.load(sys.stdin)
    release = metadata.version("flama")
    out = sys.stdout
    results = []
    # Flama and scikit-learn may print or warn while loading; keep stdout for the one JSON document.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for file_job in job["files"]:
            results.append(_check_file(file_job, _release_tuple(release)))
    report = {
        "flama": release,
        "sklearn": metadata.version("scikit-learn"),
        "numpy": metadata.version("numpy"),
        "results": results,
    }
    # default=str: metadata may hold UUIDs or datetimes depending on the release.
    json.dump(report, out, default=str)
    out.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
