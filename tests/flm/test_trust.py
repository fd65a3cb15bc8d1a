"""Pickle trust: nothing outside the allow-list is imported, let alone run, unless the user says so."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

import flmcli.flm as flm
from flmcli.errors import ModelFileError, UntrustedModelError
from flmcli.flm.trust import audit, is_allowed, restricted_loads


class Gadget:
    """Unpickling this runs `os.system(command)`."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return (os.system, (self.command,))


class Custom:
    """A harmless class that lives outside every trusted package."""

    def __init__(self) -> None:
        self.value = 42

    def predict(self, X: object) -> list[int]:
        return [self.value]


def test_os_system_gadget_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    target = tmp_path / "evil.flm"
    flm.dump(Gadget(f"touch {marker}"), target)
    loaded = flm.load(target)  # reading metadata never unpickles
    assert not marker.exists()
    with pytest.raises(UntrustedModelError) as caught:
        loaded.estimator  # noqa: B018
    assert not marker.exists()
    assert any(name.endswith(".system") for name in caught.value.names)
    assert str(target) in str(caught.value)
    untrusted = [item for item in loaded.audit() if not item.trusted]
    assert [item.name for item in untrusted] == ["system"]
    assert not marker.exists()


def test_custom_class_needs_trust(tmp_path: Path) -> None:
    target = tmp_path / "custom.flm"
    flm.dump(Custom(), target)
    qualified = f"{Custom.__module__}.Custom"
    with pytest.raises(UntrustedModelError) as caught:
        flm.load(target).estimator  # noqa: B018
    assert caught.value.names == [qualified]
    assert flm.load(target, trust=[qualified]).estimator.predict(None) == [42]
    with pytest.raises(ModelFileError, match="exact module.qualname"):  # trust is exact, never a prefix
        flm.load(target, trust=[f"{Custom.__module__}.*"]).estimator  # noqa: B018
    assert flm.load(target, trust_all=True).estimator.value == 42


def test_trust_all_is_needed_for_a_gadget(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    target = tmp_path / "g.flm"
    flm.dump(Gadget(f"touch {marker}"), target)
    # trusting the gadget's class is not enough: the gadget imports os.system / posix.system
    with pytest.raises(UntrustedModelError):
        flm.load(target, trust=[f"{Gadget.__module__}.Gadget"]).estimator  # noqa: B018
    assert not marker.exists()


def test_sklearn_model_trusted_by_default(tmp_path: Path) -> None:
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    flm.dump(model, tmp_path / "m.flm")
    loaded = flm.load(tmp_path / "m.flm")
    assert all(item.trusted for item in loaded.audit())
    assert loaded.estimator.predict([[2.0]]).tolist() == pytest.approx([4.0])


@pytest.mark.parametrize(
    ("module", "name", "allowed"),
    [
        ("sklearn.pipeline", "Pipeline", True),
        ("numpy._core.multiarray", "_reconstruct", True),
        ("numpy.core.multiarray", "_reconstruct", True),
        ("numpy", "dtype", True),
        ("builtins", "slice", True),
        ("builtins", "eval", False),
        ("builtins", "getattr", False),
        ("builtins", "__import__", False),
        ("os", "system", False),
        ("posix", "system", False),
        ("nt", "system", False),
        ("subprocess", "Popen", False),
        ("numpy", "load", False),
        ("numpy.testing._private.utils", "runstring", False),
        ("pandas", "read_pickle", False),
        ("pandas", "DataFrame.eval", False),
        ("pandas.io.pickle", "read_pickle", False),
        ("numpyevil", "thing", False),
        ("sklearnx", "thing", False),
    ],
)
def test_allow_list(module: str, name: str, allowed: bool) -> None:
    assert is_allowed(module, name) is allowed


def test_stack_global_through_memo_is_resolved() -> None:
    # protocol 4 pushes module and name as strings, memoizes them, and STACK_GLOBAL pops them;
    # a second reference to the same global comes back through BINGET
    data = pickle.dumps([os.system, os.system, LinearRegression], protocol=4)
    names = {(item.module, item.name): item.trusted for item in audit(data)}
    assert names[(os.system.__module__, "system")] is False
    assert names[("sklearn.linear_model._base", "LinearRegression")] is True


def test_hand_built_stack_global_from_memo_is_caught(tmp_path: Path) -> None:
    marker = tmp_path / "memo-pwned"
    # strings memoized early, fetched with BINGET right before STACK_GLOBAL
    body = (
        b"\x80\x04"
        b"\x8c\x05posix\x94"  # SHORT_BINUNICODE 'posix', MEMOIZE -> 0
        b"\x8c\x06system\x94"  # 'system' -> 1
        b"0"  # POP
        b"0"  # POP
        b"h\x00h\x01\x93"  # BINGET 0, BINGET 1, STACK_GLOBAL
        + b"\x8c" + bytes([len(f"touch {marker}")]) + f"touch {marker}".encode()
        + b"\x85R."  # TUPLE1, REDUCE, STOP
    )
    assert [i.qualified for i in audit(body) if not i.trusted] == ["posix.system"]
    with pytest.raises(UntrustedModelError):
        restricted_loads(body)
    assert not marker.exists()


def test_unresolvable_stack_global_is_untrusted() -> None:
    # module name built by a non-string opcode: the audit cannot know it, so it is untrusted
    body = b"\x80\x04" b"\x8c\x03abc" b"\x8c\x03def" b"\x86" b"\x8c\x01x" b"\x93."  # TUPLE2 breaks the pair
    untrusted = [i for i in audit(body) if not i.trusted]
    assert untrusted and untrusted[0].module == "<unresolved>"
