"""The pickle audit's numpy checks while numpy is still being imported by another thread (`flm predict` reads
its input, importing pyarrow and numpy, while the model loads): a half-imported numpy has no `ndarray` yet, and
the audit raised AttributeError ("partially initialized module 'numpy'") instead of its own verdict. Nothing
the pickle built can be an array before numpy is whole, so the checks answer "not an array"."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import flmcli
from flmcli.flm.trust import UnsafePickleError

from .hostile import call, glob, program
from .test_pickle_bypasses import flm_file


@pytest.fixture
def half_imported_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", types.ModuleType("numpy"))


def test_a_size_bomb_is_still_refused_for_its_size(tmp_path: Path, half_imported_numpy: None) -> None:
    model = flmcli.load(flm_file(tmp_path / "m.flm", program(call(glob("builtins", "bytes"), 10**11))))
    with pytest.raises(UnsafePickleError, match="declares more memory"):
        model.estimator  # noqa: B018


def test_a_plain_value_still_loads(tmp_path: Path, half_imported_numpy: None) -> None:
    model = flmcli.load(flm_file(tmp_path / "m.flm", program(call(glob("builtins", "complex"), "1+2j"))))
    assert model.estimator == 1 + 2j
