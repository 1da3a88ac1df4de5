"""A small in-process cache with a time limit per entry and a size bound (least recently used out)."""
import collections
import time

_MISSING = object()


class TtlCache:
    def __init__(self, seconds: float, max_entries: int = 100_000, clock=time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries = collections.OrderedDict()

    def get(self, key, default=_MISSING):
        """The cached value, or `default` (a sentinel by default, see `missing`)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < self.clock():
            return default
        self._entries.move_to_end(key)
        return entry[1]

    @staticmethod
    def missing(value) -> bool:
        return value is _MISSING

    def put(self, key, value):
        if self.seconds <= 0:
            return
        self._entries[key] = (self.clock() + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, key):
        self._entries.pop(key, None)

    def clear(self):
        self._entries.clear()
