"""A numpy dtype's pickled state may not give it flags its type does not have (numpy takes them as given).

A float64 dtype in a model's pickle stated with flags 1 (holds object references) was loaded and scored; with 3 or
63 flm said 'cannot unpickle the model: TypeError: object pickle not returning list' and then printed
'RuntimeError: Internal error, `get_clear_loop` not set for the DType 'float64'' on a second line. Such a file is
refused in one line. Dtypes whose state brings fields or a subarray (which set their flags) load as before, and so
do the object, string and datetime dtypes of real models."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression

import flmcli.flm as flm
from flmcli.cli import cli
from flmcli.flm import binary
from flmcli.flm.trust import restricted_loads

META = json.dumps({"id": "x", "timestamp": "2024-01-01T00:00:00", "framework": {"lib": "sklearn", "version": "1.9.1"},
                   "model": {"obj": "LinearRegression", "info": None, "params": None, "metrics": None}}).encode()
# How numpy 2 pickles a plain dtype's state: (3, '<', None, None, None, -1, -1, flags)
PLAIN_STATE_END = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"


def _with_flags(data: bytes, flags: int) -> bytes:
    assert data.count(PLAIN_STATE_END) >= 1
    return data.replace(PLAIN_STATE_END, PLAIN_STATE_END[:-2] + b"J" + flags.to_bytes(4, "little"))


def _model_file(tmp_path: Path, flags: int) -> Path:
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 2.0, 4.0])
    payload = base64.encodebytes(_with_flags(pickle.dumps(model, protocol=4), flags))
    path = tmp_path / f"flags{flags}.flm"
    path.write_bytes(binary.build(protocol=2, compression="zstd", meta=META, payload=payload, artifacts={}))
    return path


@pytest.mark.parametrize("flags", [1, 3, 8, 63])
def test_a_model_whose_float64_dtype_claims_other_flags_is_refused_in_one_line(tmp_path: Path, flags: int) -> None:
    result = CliRunner().invoke(cli, ["predict", str(_model_file(tmp_path, flags))], input="[5.0]\n")
    assert result.exit_code == 3, result.output
    assert result.stderr == (f"Error: {tmp_path / f'flags{flags}.flm'}: refusing to unpickle: a float64 dtype's state "
                             f"sets flags {flags} that its type does not have (0)\n")


def test_the_same_model_with_its_own_flags_scores(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["predict", str(_model_file(tmp_path, 0))], input="[5.0]\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["prediction"] == pytest.approx(10.0)


@pytest.mark.parametrize("value", [
    np.array(["a", None], dtype=object), np.array(["ab", "c"]), np.array([b"x"]), np.array(["2024-01-01"], "M8[ns]"),
    np.array([(1.0, "x")], dtype=[("a", "f8"), ("b", "O")]), np.zeros(2, dtype=("O", (2,))),
    np.zeros(1, dtype=np.dtype([("a", "f8"), ("b", "i1")], align=True)), np.array([1, 2], dtype=">i4"),
])
def test_real_dtypes_keep_loading(value: np.ndarray) -> None:
    data = pickle.dumps(value, protocol=4)
    loaded, plain = restricted_loads(data), pickle.loads(data)  # noqa: S301 - numpy's own pickle of a test value
    assert loaded.dtype == plain.dtype and loaded.dtype.flags == plain.dtype.flags == value.dtype.flags
    assert loaded.tolist() == value.tolist()


def test_corpus_models_still_load() -> None:
    from tests.helpers import CHURN

    assert flm.load(CHURN).estimator is not None
