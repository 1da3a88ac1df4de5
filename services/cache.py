"""A small in-process cache with a time limit per entry and a size bound (least recently used out)."""
import asyncio
import collections
import dataclasses
import logging
import time

import ujson

log = logging.getLogger("tollgate.cache")


class TtlCache:
    """Values loaded on demand and kept for `seconds`. An entry past its time is still served, for up to
    another `seconds`, while one reload runs in the background: a busy key never makes its requests wait
    for the database (which may be busy writing a batch). Concurrent misses share one load. A load begun
    before `drop` or `clear` does not store what it read."""

    def __init__(self, seconds: float, max_entries: int = 100_000, clock=time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries = collections.OrderedDict()    # key → (fresh until, value)
        self._loading = {}                            # key → the load under way
        self._generation = 0

    async def get(self, key, load):
        """The value for `key`; `load()` (a coroutine function) reads it when it is not cached."""
        if self.seconds <= 0:
            return await load()
        entry = self._entries.get(key)
        if entry is not None:
            fresh_until, value = entry
            now = self.clock()
            if now < fresh_until:
                self._entries.move_to_end(key)
                return value
            if now < fresh_until + self.seconds:
                self._start_load(key, load)
                return value
        return await asyncio.shield(self._start_load(key, load))

    def _start_load(self, key, load) -> asyncio.Task:
        task = self._loading.get(key)
        if task is None:
            task = self._loading[key] = asyncio.ensure_future(self._load(key, load, self._generation))
            task.add_done_callback(_log_failure)
        return task

    async def _load(self, key, load, generation):
        try:
            value = await load()
            if generation == self._generation:
                self.put(key, value)
            return value
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]

    def put(self, key, value):
        if self.seconds <= 0:
            return
        self._entries[key] = (self.clock() + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key):
        self._generation += 1
        self._entries.pop(key, None)
        self._loading.pop(key, None)

    def clear(self):
        self._generation += 1
        self._entries.clear()
        self._loading.clear()


def _log_failure(task):
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not load a cached entry: %s", task.exception())


class SharedCache:
    """Dataclass objects kept in Redis as JSON for a while, shared by every node. A Redis failure counts
    as a miss, so requests keep working from MongoDB while Redis is down."""

    def __init__(self, guard, seconds: int):
        self.guard = guard
        self.seconds = seconds

    @staticmethod
    def _name(kind, ident) -> str:
        return f"tollgate:{kind}:{ident}"

    async def get(self, kind, ident, cls):
        raw = await self.guard.call("cache read", lambda r: r.get(self._name(kind, ident)))
        return cls(**ujson.loads(raw)) if raw else None

    async def put(self, kind, ident, obj):
        value = ujson.dumps(dataclasses.asdict(obj))
        await self.guard.call("cache write", lambda r: r.set(self._name(kind, ident), value, ex=self.seconds))

    async def drop(self, kind, ident):
        await self.guard.call("cache delete", lambda r: r.delete(self._name(kind, ident)))
