"""Warm and cold `flm predict` give the same bytes: stdout, stderr, exit status and -o files."""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.plain_model import TRUST

from .conftest import CHURN, Helper, Run, env_for, run, shell

# one warm helper (a session fixture) per run, not one per worker
pytestmark = pytest.mark.xdist_group("warm-helper")

FORMATS = ("json", "ndjson", "csv", "tsv", "parquet", "arrow")
INPUTS = [f"{fmt}-rows.{fmt}" for fmt in FORMATS]

# The scikit-learn churn model where the model matters to the helper: every reader and writer, and
# predict_proba, run in its forked children. Elsewhere tests/plain_model.py's model (trusted by name), which
# spares each cold reference process ~1.3 CPU-s of scikit-learn import: those cases are about options,
# standard input, files and exit statuses, and the rest of tests/warm runs the churn model warm.
PLAIN = ["plain.flm", "--trust", TRUST]

# name -> (argv after `flm`, file fed on stdin, extra environment)
CASES: dict[str, tuple[list[str], str | None, dict[str, str]]] = {
    # every reader and every writer, each input into its own format, then every input into a text and a binary
    # writer (a cold run costs ~1.3 s of imports: not one per writer)
    "to-own-format": (["predict", "churn.flm", *INPUTS, "-o", "out-own/"], None, {}),
    **{f"to-{fmt}": (["predict", *PLAIN, *INPUTS, "--to", fmt, "-o", f"out-{fmt}/"], None, {})
       for fmt in ("ndjson", "parquet")},
    "stdin-json-env-option": (["predict", *PLAIN, "--keep", "Surname"], "json-rows.json",
                              {"FLM_PREDICT_OUTPUT_NAME": "churned"}),
    "stdin-csv-keep": (["predict", *PLAIN, "--keep", "CustomerId"], "csv-rows.csv", {}),
    "stdin-parquet-spooled": (
        ["predict", *PLAIN, "-o", "sub/out.parquet"],
        "parquet-rows.parquet",
        {"TMPDIR": "spool"},
    ),
    "stdin-parquet-bad-tmpdir": (["predict", *PLAIN], "parquet-rows.parquet", {"TMPDIR": "/nonexistent/flm"}),
    "stdin-arrow-proba": (["predict", "churn.flm", "--method", "predict_proba"], "arrow-rows.arrow", {}),
    "exit1-bad-row": (["predict", *PLAIN, "bad.ndjson"], None, {}),
    "exit5-skip": (["predict", *PLAIN, "bad.ndjson", "--on-error", "skip"], None, {}),
    "null-row": (["predict", *PLAIN, "bad.ndjson", "--on-error", "null", "--keep-input"], None, {}),
    "exit2-option": (["predict", "churn.flm", "--bogus"], None, {}),
    "exit2-no-model": (["predict", "missing.flm"], None, {}),
    "exit3-not-a-model": (["predict", "json-rows.json", "json-rows.json"], None, {}),
    "exit1-method": (["predict", *PLAIN, "json-rows.json", "--method", "transform"], None, {}),
    "help": (["predict", "--help"], None, {}),
}


def _case_dir(base: Path, inputs: Path, plain: Path) -> Path:
    base.mkdir(parents=True)
    for item in inputs.iterdir():
        shutil.copy(item, base / item.name)
    shutil.copy(CHURN, base / "churn.flm")
    shutil.copy(plain, base / "plain.flm")
    (base / "spool").mkdir()
    (base / "sub").mkdir()  # `-o sub/out.parquet` writes into a folder; like open(), flm does not create it
    return base


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run_case(name: str, root: Path, env: dict[str, str],
              helper: Helper | None = None) -> tuple[Run, dict[str, bytes]]:
    argv, stdin, extra = CASES[name]
    if helper is not None:
        helper.wait_until_free()
    folder = root / name
    data = (folder / stdin).read_bytes() if stdin else b""
    result = run(argv, {**env, **extra}, input=data, cwd=folder)
    return result, _files(folder)


@pytest.fixture(scope="module")
def results(helper: Helper, inputs: Path, plain_flm: Path,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    root = tmp_path_factory.mktemp("parity")
    for side in ("warm", "cold"):
        for name in CASES:
            _case_dir(root / side / name, inputs, plain_flm)
    # cold runs pay the imports each: run them side by side while the warm ones go one after another
    with ThreadPoolExecutor(max_workers=3) as pool:
        cold = {name: pool.submit(_run_case, name, root / "cold", env_for(None)) for name in CASES}
        warm = {name: _run_case(name, root / "warm", helper.env, helper) for name in CASES}
        return {name: (warm[name], cold[name].result()) for name in CASES}


@pytest.mark.parametrize("name", list(CASES))
def test_same_bytes_warm_and_cold(results: dict[str, tuple[Any, Any]], name: str) -> None:
    (warm, warm_files), (cold, cold_files) = results[name]
    assert warm.stderr == cold.stderr
    assert warm.stdout == cold.stdout
    assert warm.returncode == cold.returncode
    assert warm_files == cold_files


def test_the_cases_cover_what_they_claim(results: dict[str, tuple[Any, Any]]) -> None:
    codes = {name: results[name][1][0].returncode for name in CASES}
    assert {codes["exit1-bad-row"], codes["exit2-option"], codes["exit3-not-a-model"], codes["exit5-skip"]} == {
        1,
        2,
        3,
        5,
    }
    assert codes["to-parquet"] == 0 and len([f for f in results["to-parquet"][1][1] if f.startswith("out-")]) == 6
    own = sorted(f for f in results["to-own-format"][1][1] if f.startswith("out-"))
    assert codes["to-own-format"] == 0 and own == sorted(f"out-own/{name}" for name in INPUTS)
    assert b"churned" in results["stdin-json-env-option"][1][0].stdout
    assert results["stdin-parquet-spooled"][1][1]["sub/out.parquet"].startswith(b"PAR1")


def test_warm_runs_were_served_by_the_helper(results: dict[str, tuple[Any, Any]], helper: Helper) -> None:
    status = helper.status()
    assert status["requests"] >= len(CASES)
    assert any(model["path"].endswith("churn.flm") for model in status["models"])


def _cached(helper: Helper, path: Path) -> dict[str, Any] | None:
    real = os.path.realpath(path)
    return next((model for model in helper.status()["models"] if model["path"] == real), None)


def test_a_cached_model_is_used_again(helper: Helper, inputs: Path, tmp_path: Path) -> None:
    model = tmp_path / "again.flm"
    shutil.copy(CHURN, model)
    helper.wait_until_free()
    first = run(["predict", str(model), str(inputs / "json-rows.json")], helper.env)
    deadline = time.monotonic() + 30  # the helper loads it after the first child reported it
    while _cached(helper, model) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    entry = _cached(helper, model)
    assert entry is not None and entry["hits"] == 0
    helper.wait_until_free()
    second = run(["predict", str(model), str(inputs / "json-rows.json")], helper.env)
    assert (second.returncode, second.stdout, second.stderr) == (first.returncode, first.stdout, first.stderr)
    deadline = time.monotonic() + 30  # the child's report and its exit reach the helper in either order
    while (entry := _cached(helper, model)) is not None and entry["hits"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert entry is not None and entry["hits"] == 1


def test_chain_of_three_models(helper: Helper, inputs: Path, tmp_path: Path) -> None:
    models = [tmp_path / f"{name}.flm" for name in "abc"]  # three files: three cache entries
    for model in models:
        shutil.copy(CHURN, model)
    script = (
        f"$FLM predict {models[0]} ndjson-rows.ndjson --keep-input --output-name a"
        f" | $FLM predict {models[1]} --keep-input --output-name b"
        f" | $FLM predict {models[2]} --output-name c --keep CustomerId,a,b;"
        ' echo "status ${PIPESTATUS[*]}" >&2'
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        cold = pool.submit(shell, script, env_for(None), cwd=inputs)
        helper.wait_until_free()
        warm = shell(script, helper.env, cwd=inputs)
        cold_result = cold.result()
    assert warm.stdout == cold_result.stdout
    assert warm.stderr == cold_result.stderr
    assert warm.stderr.endswith(b"status 0 0 0\n")
    assert warm.stdout.count(b"\n") == 25 and b'"a":' in warm.stdout and b'"c":' in warm.stdout


def test_head_closes_the_pipe_early(helper: Helper, inputs: Path) -> None:
    # batches of 1000 rows: the reader is gone between two writes, not in the middle of one (where a short
    # write would end the run with status 0, cold and warm alike, depending on timing)
    script = (
        '$FLM predict churn.flm big.parquet --to ndjson --batch-size 1000 | head -1; echo "status ${PIPESTATUS[*]}" >&2'
    )
    shutil.copy(CHURN, inputs / "churn.flm")
    with ThreadPoolExecutor(max_workers=1) as pool:
        cold = pool.submit(shell, script, env_for(None), cwd=inputs)
        helper.wait_until_free()
        warm = shell(script, helper.env, cwd=inputs)
        cold_result = cold.result()
    assert warm.stdout == cold_result.stdout and warm.stdout.count(b"\n") == 1
    assert warm.stderr == cold_result.stderr
    assert warm.stderr.startswith(b"status ")
