"""A CSV reader fixes its column types from its first block, and which columns are text depends on the model
(features trained on codes such as 02139): the reader of an input of one block reads it while the model loads,
but converts no row before the model is loaded (a longer input reads on: test_csv_reads_while_loading); a model
that fails to load leaves no reader waiting."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import flmcli.job
import flmcli.predictor
from flmcli.cli import cli
from tests.cli.test_csv_text_as_written import ZIPS, as_csv, code_model


def test_the_reader_asks_for_the_text_columns_once_the_model_is_loaded(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    model = code_model(tmp_path / "zips.flm", ZIPS)
    source = tmp_path / "zips.csv"
    source.write_bytes(as_csv(ZIPS * 3))
    events: list[str] = []
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]
    original_as_text = flmcli.job._TextColumns.__call__

    def slow_load(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        time.sleep(0.5)  # the reader has started meanwhile
        events.append("loaded")
        return original_load(cls, *args)  # type: ignore[no-any-return]

    def as_text(self: flmcli.job._TextColumns, header: list[str]) -> frozenset[str]:
        events.append(f"asked on {threading.current_thread().name}")
        found = original_as_text(self, header)
        events.append(f"text columns {sorted(found)}")
        return found

    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(slow_load))
    monkeypatch.setattr(flmcli.job._TextColumns, "__call__", as_text)
    result = CliRunner().invoke(cli, ["predict", str(model), str(source), "--to", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split()[1:6] == ["0", "1", "2", "3", "4"]  # 02139 and 00501 are their own zips
    assert events[0] == "asked on flm-prefetch"  # the reader asked before the model was loaded, and waited
    assert events[1:] == ["loaded", "text columns ['code']"]


def test_a_model_that_fails_to_load_leaves_no_reader_waiting(tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    source.write_bytes(as_csv(ZIPS))
    broken = tmp_path / "broken.flm"
    broken.write_bytes(b"not a model")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["predict", str(broken), str(source)], catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert time.monotonic() - started < 30


def test_a_longer_input_is_read_on_while_the_model_loads_and_read_again_for_its_text_columns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import flmcli.formats.csv_format as csv_format

    model = code_model(tmp_path / "zips.flm", ZIPS)
    rows = ZIPS * 120_000  # 600k rows, ~6 MiB: more than the reader's first block
    source = tmp_path / "zips.csv"
    source.write_bytes(as_csv(rows))
    original_load = flmcli.predictor.Predictor.from_options.__func__  # type: ignore[attr-defined]
    events: list[str] = []

    def slow_load(cls: type[flmcli.predictor.Predictor], *args: Any) -> flmcli.predictor.Predictor:
        time.sleep(1.0)  # the reader reads on meanwhile, with the codes as numbers
        events.append("loaded")
        return original_load(cls, *args)  # type: ignore[no-any-return]

    detach = csv_format._ShortReads.detach

    def detached(self: csv_format._ShortReads) -> list[bytes]:
        events.append("read again")
        return detach(self)

    monkeypatch.setattr(flmcli.predictor.Predictor, "from_options", classmethod(slow_load))
    monkeypatch.setattr(csv_format._ShortReads, "detach", detached)
    result = CliRunner().invoke(cli, ["predict", str(model), str(source), "--to", "csv"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split()[1:] == ["0", "1", "2", "3", "4"] * 120_000  # 02139 and 00501 are their own zips
    assert events == ["loaded", "read again"]
