"""`flm predict` on files starts its reader before loading the model, so the first batches are parsed while
the model loads; a pipe keeps the old order (a bad model is said at once, not after the first input), and a
bad model's error still comes before an input's."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

import flmcli.formats.ndjson_arrow
import flmcli.predictor
from flmcli.cli import cli
from flmcli.cli.environment import Environment
from flmcli.cli.predict import _opens_without_waiting
from tests.formats.test_columnar_parity import CHURN, churn_rows


def _ndjson(tmp_path: Path) -> Path:
    source = tmp_path / "rows.ndjson"
    source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in churn_rows()))
    return source


def test_the_first_batch_is_parsed_while_the_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _ndjson(tmp_path)
    parsed = threading.Event()
    original_read = flmcli.formats.ndjson_arrow.read
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]
    seen: list[bool] = []

    def read(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for batch in original_read(*args, **kwargs):
            parsed.set()
            yield batch

    def from_options(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        # Waits for the reader: were it started only after the model, this would time out.
        seen.append(parsed.wait(timeout=20))
        return original_load(cls, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(flmcli.formats.ndjson_arrow, "read", read)
    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(from_options))
    result = CliRunner().invoke(cli, ["predict", str(CHURN), str(source)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert seen == [True]
    assert result.stdout.count("\n") == len(churn_rows())


def _bad_model(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.flm"
    bad.write_bytes(b"not a model at all" * 10)
    return bad


def test_a_bad_models_error_still_comes_first(tmp_path: Path) -> None:
    bad = _bad_model(tmp_path)
    good_input = _ndjson(tmp_path)
    undetectable = tmp_path / "rows.unknown"
    undetectable.write_bytes(b"\x00\x01\x02 what format is this")
    model_alone = CliRunner().invoke(cli, ["predict", str(bad), str(good_input)])
    assert model_alone.exit_code != 0
    message = model_alone.stderr.strip().splitlines()[-1]
    assert "bad.flm" in message, message
    for other in (undetectable, tmp_path / "missing.ndjson"):
        result = CliRunner().invoke(cli, ["predict", str(bad), str(other)])
        assert (result.exit_code, result.stderr.strip().splitlines()[-1]) == (model_alone.exit_code, message)
    assert not model_alone.stdout


def test_only_regular_files_are_read_first(tmp_path: Path) -> None:
    source = _ndjson(tmp_path)
    read_fd, write_fd = os.pipe()
    with open(source, "rb") as regular, os.fdopen(read_fd, "rb") as pipe, os.fdopen(write_fd, "wb"):
        def env(stdin: Any) -> Environment:
            return Environment(stdin=stdin, stdout=io.BytesIO(), stderr=io.BytesIO())

        assert _opens_without_waiting([str(source)], env(pipe))
        assert _opens_without_waiting(["-"], env(regular))  # `< rows.ndjson`
        assert not _opens_without_waiting(["-"], env(pipe))
        assert not _opens_without_waiting([str(source), "-"], env(pipe))
        assert not _opens_without_waiting([str(tmp_path)], env(regular))  # a directory
        assert not _opens_without_waiting([str(tmp_path / "missing.ndjson")], env(regular))
