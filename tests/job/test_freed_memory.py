"""`flm predict` asks glibc's malloc to keep the memory a batch frees for the next batch (no mmap per buffer, no
trim of the heap after each batch); elsewhere nothing is changed."""

from __future__ import annotations

import ctypes
import os
from typing import Any

import pytest

import flmcli.job
from tests.helpers import CHURN, DATA, invoke


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return 1


def test_glibc_keeps_freed_memory_below_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _Libc()
    monkeypatch.setattr(os, "confstr", lambda name: "glibc 2.36")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    flmcli.job.keep_freed_memory()
    assert libc.calls == [(-3, 32 << 20), (-1, 128 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


@pytest.mark.parametrize("missing", ["libc", "mallopt"])
def test_another_c_library_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    libc = _Libc()

    def confstr(name: str) -> str:
        raise ValueError("unrecognized configuration name")

    if missing == "libc":
        monkeypatch.setattr(os, "confstr", confstr)
        monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    else:
        monkeypatch.setattr(os, "confstr", lambda name: "glibc 2.36")
        monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
    flmcli.job.keep_freed_memory()  # nothing raised
    assert libc.calls == []


def test_flm_predict_sets_it_before_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[Any] = []
    monkeypatch.setattr(flmcli.job, "keep_freed_memory", lambda: called.append(True))
    ran = invoke("predict", CHURN, DATA, "--to", "ndjson")
    assert ran.returncode == 0 and ran.stdout
    assert called == [True]

