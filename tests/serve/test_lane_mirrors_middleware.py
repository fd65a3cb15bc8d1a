"""The fast lane answers its requests without the app's middleware, doing itself what each middleware after it
does (serve/lane.py, MIRRORED): a middleware added to the app after the lane but not mirrored by it would be
skipped for the requests the lane takes (most of a server's traffic), so its list and the app's must agree."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.middleware import Middleware

from flmcli.predictor import Predictor
from flmcli.serve import create_app, lane
from tests.helpers import CORPUS

IRIS = CORPUS / "flama-2.2.2_iris-logreg_zstd_p2.flm"


def unmirrored(middleware: list[Middleware]) -> list[str]:
    """What the app's middleware list has after the lane that the lane does not mirror (and what the lane says it
    mirrors that the app no longer has), by class name."""
    names = [getattr(entry.cls, "__name__", repr(entry.cls)) for entry in middleware]
    assert "FastLane" in names, names
    after = names[names.index("FastLane") + 1 :]
    return [name for name in after if name not in lane.MIRRORED] + [name for name in lane.MIRRORED
                                                                    if name not in after]


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app({"iris": Predictor.from_path(IRIS)})


def test_the_lane_mirrors_every_middleware_after_it(app: Any) -> None:
    assert unmirrored(app.user_middleware) == []


def test_a_middleware_added_after_the_lane_is_caught(app: Any) -> None:
    class AddsAHeader:
        def __init__(self, app: Any) -> None:
            self.app = app

    middleware = list(app.user_middleware)
    at = [entry.cls.__name__ for entry in middleware].index("FastLane")
    added = [*middleware[: at + 1], Middleware(AddsAHeader), *middleware[at + 1 :]]
    assert unmirrored(added) == ["AddsAHeader"]
    # One the lane mirrors, taken out of the app: the lane would do what the app no longer does.
    assert unmirrored([entry for entry in middleware if entry.cls.__name__ != "ContentDecoding"]) == ["ContentDecoding"]
    # Before the lane, a middleware sees every request, the lane's too: nothing to mirror.
    assert unmirrored([Middleware(AddsAHeader), *middleware]) == []
