"""In-flight relay calls, so that a stopping server can let them finish and settle every bill."""
import asyncio

from services import metrics


class InFlight:
    def __init__(self):
        self._sinks = set()
        self._idle = asyncio.Event()
        self._idle.set()
        metrics.watch(self)

    def enter(self, sink):
        self._sinks.add(sink)
        self._idle.clear()

    def leave(self, sink):
        self._sinks.discard(sink)
        if not self._sinks:
            self._idle.set()

    def __len__(self):
        return len(self._sinks)

    def streaming(self) -> int:
        """Calls whose streamed answer has begun and whose client is still there."""
        return sum(1 for sink in self._sinks if getattr(sink, "started", False) and not getattr(sink, "gone", False))

    async def idle(self):
        """Wait until no call is in flight (bills are settled after the answer is sent)."""
        await self._idle.wait()

    async def drain(self, grace_seconds: float):
        """Wait for every call to end; past the grace period, end the streams still open (each is
        then settled for what it produced) and wait for those bills."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except asyncio.TimeoutError:
            for sink in list(self._sinks):
                sink.closed()
            await self._idle.wait()
