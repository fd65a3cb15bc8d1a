"""`flm pack` and `flmcli.dump` refuse params, metrics or extra nested deeper than 512 levels with a one-line error.

Python's json, which Flama and flm read the meta with, stops near 1,000 levels less the reader's stack, and its
writer near 1,000: `flm pack --params` of a JSON object nested 980 deep (orjson reads 1,024) ended in 'unexpected
RecursionError', and `dump` raised RecursionError. At the limit the file is written and reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import flmcli.flm as flm
from flmcli.cli import cli

MAX_META_DEPTH = 512  # flmcli.flm.writer.MAX_META_DEPTH

MODEL = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])


def _nested(levels: int) -> dict[str, Any]:
    """A dict holding lists: `levels` containers deep, the dict the first."""
    value: Any = []
    for _ in range(levels - 2):
        value = [value]
    return {"a": value}


@pytest.mark.parametrize("label", ["params", "metrics", "extra"])
def test_dump_refuses_metadata_nested_too_deep(tmp_path: Path, label: str) -> None:
    with pytest.raises(ValueError, match=f"{label} nests deeper than {MAX_META_DEPTH} levels"):
        flm.dump(MODEL, tmp_path / "m.flm", **{label: _nested(2000)})
    assert not (tmp_path / "m.flm").exists()


def test_pack_refuses_params_nested_too_deep(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "m.pkl").write_bytes(pickle.dumps(MODEL))
    (tmp_path / "p.json").write_text('{"a":' + "[" * 980 + "]" * 980 + "}")
    result = CliRunner().invoke(cli, ["pack", str(tmp_path / "m.pkl"), "-o", str(tmp_path / "m.flm"),
                                      "--params", str(tmp_path / "p.json")])
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and "nests deeper than 512 levels" in result.output, result.output
    assert "unexpected" not in result.output
    assert not (tmp_path / "m.flm").exists()


def test_metadata_at_the_limit_is_written_and_reads_back(tmp_path: Path) -> None:
    value = _nested(MAX_META_DEPTH - 1)  # inside "model": {"params": ...}, itself inside the meta object
    flm.dump(MODEL, tmp_path / "m.flm", params=value, extra=_nested(MAX_META_DEPTH))
    loaded = flm.load(tmp_path / "m.flm")
    assert loaded.meta["model"]["params"] == value
    assert loaded.meta["extra"] == _nested(MAX_META_DEPTH)
