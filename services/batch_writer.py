"""Writing usage counters and log entries in batches: added up in memory and written every
BATCH_UPDATE_INTERVAL seconds (one bulk update per collection and one insert for the logs), and at once
when a bounded buffer fills. Everything left is written when the process stops. A failed write is kept
and tried again with the next batch."""
import asyncio
import collections
import logging

log = logging.getLogger("tollgate.batch")
MAX_LOGS = 5000


class BatchWriter:
    def __init__(self, counters, logs, batched: bool = True):
        self.counters = counters      # models.usage.UsageCounters
        self.logs = logs              # models.logs.Logs
        self.batched = batched        # False: every log entry is written at once, with the counters
        self._counts = {kind: collections.defaultdict(collections.Counter) for kind in ("user", "token", "channel")}
        self._latest = collections.defaultdict(dict)
        self._entries = []
        self._lock = asyncio.Lock()

    def add_usage(self, kind: str, doc_id, latest=None, **amounts):
        counts = self._counts[kind][doc_id]
        for field, amount in amounts.items():
            counts[field] += amount
        if latest:
            self._latest[(kind, doc_id)].update(latest)

    async def add_log(self, entry: dict):
        self._entries.append(entry)
        if not self.batched or len(self._entries) >= MAX_LOGS:
            await self.flush()

    async def flush(self):
        async with self._lock:
            counts, self._counts = self._counts, {kind: collections.defaultdict(collections.Counter)
                                                  for kind in self._counts}
            latest, self._latest = self._latest, collections.defaultdict(dict)
            entries, self._entries = self._entries, []
            try:
                for kind, rows in counts.items():
                    await self.counters.add(kind, {i: dict(c) for i, c in rows.items() if c},
                                            {i: latest[(kind, i)] for i in rows if (kind, i) in latest})
                    rows.clear()   # written: do not put back on a later failure
                await self.logs.insert_many(entries)
            except Exception:
                log.exception("batch write failed; it is kept for the next batch")
                self._put_back(counts, latest, entries)

    def _put_back(self, counts, latest, entries):
        for kind, rows in counts.items():
            for doc_id, fields in rows.items():
                self._counts[kind][doc_id].update(fields)
        for key, values in latest.items():
            self._latest[key] = {**values, **self._latest.get(key, {})}
        self._entries[:0] = entries

    @property
    def pending_logs(self) -> int:
        return len(self._entries)
