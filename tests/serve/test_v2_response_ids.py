"""An answer to a request without an id carries a fresh random UUID (version 4), as uuid.uuid4() makes them."""

from __future__ import annotations

import uuid

from flmcli.serve.v2 import new_id


def test_ids_are_random_version_4_uuids_all_different() -> None:
    ids = [new_id() for _ in range(5000)]  # several refills of the pool
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every hex digit of the random part turns up in every free position: no position stuck
    for position in (0, 9, 15, 19, 24, 35):
        assert len({text[position] for text in ids}) > (3 if position == 19 else 15)
