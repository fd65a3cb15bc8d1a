"""Issue 7 §1: every class of allow-list bypass, as a generated hostile pickle, is refused before it runs.

Each gadget is first proven live (plain `pickle.loads` writes its marker or damages its victim in a control
folder), then fed to `flm predict`, `flm inspect --audit` and `flm pack`: exit 3, marker absent, victim intact.
"""

from __future__ import annotations

import base64
import json
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner

from flmcli.cli import cli
from flmcli.flm import binary

from .hostile import Op, build, call, glob, newobj, program, tup

META = {"id": "0" * 32, "timestamp": "2024-01-01T00:00:00", "framework": {"lib": "sklearn", "version": "1.9.1"},
        "model": {"obj": "LogisticRegression", "info": None, "params": None, "metrics": None}}


def flm_file(path: Path, pickled: bytes) -> Path:
    path.write_bytes(binary.build(protocol=2, compression="zstd", meta=json.dumps(META).encode(),
                                  payload=base64.encodebytes(pickled), artifacts={}))
    return path


def touch(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


@dataclass
class Scene:
    """A folder with a marker that must not appear and a victim file and folder that must stay intact."""

    root: Path

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.marker = self.root / "marker"
        self.victim = self.root / "victim.txt"
        self.victim.write_text("intact")
        self.victim_dir = self.root / "victim-dir"
        (self.victim_dir / "sub").mkdir(parents=True)
        (self.victim_dir / "sub" / "f").write_text("x")

    def harmed(self) -> bool:
        return (self.marker.exists() or any(self.root.glob("marker*")) or not self.victim.exists()
                or self.victim.read_text() != "intact" or not (self.victim_dir / "sub" / "f").exists())


def _eval_index() -> int:
    namespace = numpy.__builtins__  # type: ignore[attr-defined]
    return list(namespace if isinstance(namespace, dict) else vars(namespace)).index("eval")


# Each gadget: scene -> pickle that harms the scene when unpickled without restriction.
GADGETS: dict[str, Callable[[Scene], bytes]] = {
    # a module's __builtins__ dict turned into eval through allowed array/Series functions
    "builtins-dict": lambda s: program(call(call(glob("numpy", "take"), call(glob("numpy", "asarray"), call(
        glob("pandas", "Series"), glob("numpy", "__builtins__"))), _eval_index()), touch(s.marker))),
    # private aliases of stdlib functions inside allowed packages
    "alias-open": lambda s: program(call(glob("numpy.lib._datasource", "_open"), str(s.victim), "w")),
    "alias-rmtree": lambda s: program(call(glob("scipy._lib._tmpdirs", "rmtree"), str(s.victim_dir))),
    "alias-mkdtemp": lambda s: program(call(glob("scipy._lib._tmpdirs", "mkdtemp"), "", "marker", str(s.root))),
    "alias-remove": lambda s: program(call(glob("sklearn.datasets._lfw", "remove"), str(s.victim))),
    "alias-makedirs": lambda s: program(call(glob("sklearn.datasets._base", "makedirs"), str(s.marker))),
    # module objects re-exported as attributes
    "module-attribute": lambda s: program(call(glob("numpy.lib._datasource", "os.system"), f"touch {s.marker}")),
    "module-object": lambda s: program(tup(glob("numpy._core._methods", "os"), call(
        glob("numpy.lib._datasource", "_open"), str(s.victim), "w"))),
    # a package __getattr__ that hands back modules
    "getattr-os": lambda s: program(call(glob("numpy.core.records", "os.system"), f"touch {s.marker}")),
    "getattr-builtins": lambda s: program(call(glob("numpy.core.numeric", "builtins.eval"), touch(s.marker))),
    # a dunder name of an allowed class
    "dunder": lambda s: program(call(glob("sklearn.pipeline", "Pipeline.__init_subclass__"))),
}

NUMPY_RECONSTRUCT = glob("numpy._core.multiarray", "_reconstruct")
NDARRAY = glob("numpy", "ndarray")
HUGE = (60000, 60000)


def _dtype(code: str) -> Op:
    return call(glob("numpy", "dtype"), code, False, True)


# Allowed names (or an allocator) used to allocate memory the file does not hold; never run for real.
MEMORY_BOMBS: dict[str, bytes] = {
    "numpy.ones": program(call(glob("numpy", "ones"), HUGE)),
    "ndarray(shape)": program(call(NDARRAY, HUGE)),
    "ndarray.__new__": program(newobj(NDARRAY, HUGE)),
    "_reconstruct(shape)": program(call(NUMPY_RECONSTRUCT, NDARRAY, HUGE, _dtype("f8"))),
    "_reconstruct(subarray dtype)": program(call(NUMPY_RECONSTRUCT, NDARRAY, (1,), call(
        glob("numpy", "dtype"), tup("f8", HUGE)))),
    "object-array state": program(build(call(NUMPY_RECONSTRUCT, NDARRAY, (0,), b"b"),
                                        (1, HUGE, _dtype("O"), False, []))),
    "bytearray(n)": program(call(glob("builtins", "bytearray"), 10**11)),
    "many bytearrays": program(Op(pickle.MARK + b"".join(call(glob("builtins", "bytearray"), 50_000_000)
                                                         for _ in range(100)) + pickle.TUPLE)),
    "copyreg._reconstructor": program(call(glob("copyreg", "_reconstructor"), glob("builtins", "bytearray"),
                                           glob("builtins", "bytearray"), 10**11)),
    # hardening, not a demonstrated bomb (scipy 1.17 iterates no rows here): a constructor is never given an
    # object that claims more items than the file could hold
    "list(sparse matrix with a forged shape)": program(call(glob("builtins", "list"), build(
        newobj(glob("scipy.sparse._csr", "csr_matrix")),
        {"_shape": (10**9, 1), "maxprint": 50, "indptr": call(NUMPY_RECONSTRUCT, NDARRAY, (0,), b"b"),
         "indices": call(NUMPY_RECONSTRUCT, NDARRAY, (0,), b"b"), "data": call(NUMPY_RECONSTRUCT, NDARRAY, (0,), b"b")}))),
    "masked array shape": program(call(glob("numpy.ma.core", "_mareconstruct"), glob("numpy.ma", "MaskedArray"),
                                       NDARRAY, HUGE, b"d")),
}


def _invoke(*args: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", sorted(GADGETS))
def test_gadget_is_live_without_the_audit(name: str, tmp_path: Path) -> None:
    scene = Scene(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pickle.loads(GADGETS[name](scene))
        except Exception:  # noqa: BLE001 - some gadgets fail after doing their damage
            pass
    if name != "dunder":
        assert scene.harmed(), "the gadget must really do harm when loaded without flm's audit"


@pytest.mark.parametrize("name", sorted(GADGETS))
def test_gadget_refused_by_predict_inspect_and_pack(name: str, tmp_path: Path) -> None:
    scene = Scene(tmp_path / "scene")
    pickled = GADGETS[name](scene)
    model = flm_file(tmp_path / "evil.flm", pickled)
    code, output = _invoke("predict", str(model), input=b'{"x": 1}\n')
    assert code == 3, output
    assert "refusing to unpickle" in output and "--trust-all" in output
    assert not scene.harmed()
    code, output = _invoke("inspect", "--audit", "--json", str(model))
    report = json.loads(output)
    assert report["trusted"] is False and any(not item["trusted"] for item in report["imports"])
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickled)
    code, output = _invoke("pack", str(raw), "-o", str(tmp_path / "out.flm"))
    assert code == 3, output
    assert not (tmp_path / "out.flm").exists()
    assert not scene.harmed()


@pytest.mark.parametrize("name", sorted(MEMORY_BOMBS))
def test_memory_bomb_refused_before_allocating(name: str, tmp_path: Path) -> None:
    model = flm_file(tmp_path / "bomb.flm", MEMORY_BOMBS[name])
    code, output = _invoke("predict", str(model), input=b'{"x": 1}\n')
    assert code == 3, output
    assert "refusing to unpickle" in output
    raw = tmp_path / "bomb.pkl"
    raw.write_bytes(MEMORY_BOMBS[name])
    code, output = _invoke("pack", str(raw), "-o", str(tmp_path / "out.flm"))
    assert code == 3, output
    assert "refusing to unpickle" in output


def test_trust_names_one_exact_global(tmp_path: Path) -> None:
    scene = Scene(tmp_path / "scene")
    model = flm_file(tmp_path / "evil.flm", GADGETS["alias-open"](scene))
    # a prefix is not a name: refused as a usage of --trust, nothing loads
    code, output = _invoke("predict", "--trust", "numpy.lib.*", str(model), input=b'{"x": 1}\n')
    assert code == 3 and "exact module.qualname" in output
    # an exact name that is an alias of builtins.open is still refused: it is not what it claims to be
    code, output = _invoke("predict", "--trust", "numpy.lib._datasource._open", str(model), input=b'{"x": 1}\n')
    assert code == 3 and "refusing to unpickle" in output
    assert not scene.harmed()


def test_corrupt_pickle_is_not_an_untrusted_one(tmp_path: Path) -> None:
    model = flm_file(tmp_path / "corrupt.flm", b"\x80\x04\x95garbage that is not a pickle")
    for args in (("predict", str(model)), ("inspect", "--audit", str(model))):
        code, output = _invoke(*args, input=b'{"x": 1}\n')
        assert code == 3, output
        assert "corrupt model payload" in output
        assert "untrusted" not in output and "--trust-all" not in output
    truncated = flm_file(tmp_path / "truncated.flm", pickle.dumps([1.0, 2.0], protocol=4)[:-3])
    code, output = _invoke("predict", str(truncated), input=b'{"x": 1}\n')
    assert code == 3 and "corrupt model payload" in output
