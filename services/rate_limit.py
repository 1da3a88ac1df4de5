"""Request rate limits: fixed windows counted in Redis when it is configured (so every node shares the
count) and in process memory otherwise. If Redis stops answering, counting falls back to memory."""
import time


class MemoryCounter:
    def __init__(self, clock=time.time):
        self.clock = clock
        self._windows = {}

    async def hit(self, key: str, window: int) -> int:
        """Count one request in the current window of `key`; returns the count so far."""
        slot = int(self.clock() // window)
        current = self._windows.get(key)
        if current is None or current[0] != slot:
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[0] == slot}
            current = [slot, 0]
            self._windows[key] = current
        current[1] += 1
        return current[1]


class RedisCounter:
    def __init__(self, guard, fallback: MemoryCounter, clock=time.time):
        self.guard = guard
        self.fallback = fallback
        self.clock = clock

    async def hit(self, key: str, window: int) -> int:
        name = f"tollgate:rl:{key}:{int(self.clock() // window)}"

        async def count(redis):
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incr(name)
                pipe.expire(name, window + 1)
                return (await pipe.execute())[0]

        found = await self.guard.call("rate-limit count", count)
        return found if found is not None else await self.fallback.hit(key, window)


class RateLimiter:
    def __init__(self, counter):
        self.counter = counter

    async def allow(self, scope: str, subject, limit: int, window: int) -> bool:
        """Whether one more request of `subject` fits `limit` per `window` seconds; 0 means no limit."""
        if limit <= 0:
            return True
        return await self.counter.hit(f"{scope}:{subject}", window) <= limit
