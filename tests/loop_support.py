"""Helpers for tests of what the event loop hands on: a recorder to await, and a few loop turns."""
import asyncio


class Arrivals:
    """What a callback was handed, in order; `next()` waits for the next one."""
    def __init__(self):
        self.seen = []
        self._arrived = asyncio.Event()

    def record(self, value):
        self.seen.append(value)
        self._arrived.set()

    async def next(self):
        await asyncio.wait_for(self._arrived.wait(), 5)
        self._arrived.clear()
        return self.seen[-1]


async def loop_turns(n=5):
    """Let the loop poll a few times (data written to a socketpair is readable before the next poll)."""
    for _ in range(n):
        await asyncio.sleep(0)
