"""One timer for many requests' timeouts (serve/deadlines.py) behaves as asyncio.timeout does for each."""

from __future__ import annotations

import asyncio

import pytest

from flmcli.serve.deadlines import Deadlines


async def _work(deadlines: Deadlines, seconds: float) -> str:
    try:
        with deadlines.scope():
            await asyncio.sleep(seconds)
            return "done"
    except TimeoutError:
        return "timeout"


def test_each_request_is_bounded_by_its_own_deadline() -> None:
    async def main() -> list[str]:
        deadlines = Deadlines(0.3)
        tasks = []
        for seconds in (0.0, 0.05, 2.0, 0.1, 2.0):
            tasks.append(asyncio.create_task(_work(deadlines, seconds)))
            await asyncio.sleep(0.02)
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == ["done", "done", "timeout", "done", "timeout"]


def test_a_late_request_expires_at_its_deadline_not_the_first_ones() -> None:
    async def main() -> tuple[str, str, float]:
        deadlines = Deadlines(0.4)
        loop = asyncio.get_running_loop()
        first = asyncio.create_task(_work(deadlines, 0.0))
        await asyncio.sleep(0.25)
        started = loop.time()
        second = await _work(deadlines, 5.0)
        return await first, second, loop.time() - started

    first, second, waited = asyncio.run(main())
    assert (first, second) == ("done", "timeout")
    assert 0.35 <= waited < 2.0


def test_no_timeout_and_outside_cancellation_stay_as_they_were() -> None:
    async def main() -> None:
        assert await _work(Deadlines(None), 0.05) == "done"
        deadlines = Deadlines(30)
        task = asyncio.create_task(_work(deadlines, 5))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_finished_requests_do_not_pile_up_and_a_new_loop_starts_afresh() -> None:
    deadlines = Deadlines(30)

    async def main() -> int:
        for _ in range(3):
            await asyncio.gather(*(_work(deadlines, 0) for _ in range(500)))
        return len(deadlines._queue)

    assert asyncio.run(main()) <= 500
    assert asyncio.run(main()) <= 500  # a second event loop, as when an app is served again
    short = Deadlines(0.1)

    async def expires() -> str:
        return await _work(short, 1)

    assert asyncio.run(expires()) == "timeout"
    assert asyncio.run(expires()) == "timeout"
