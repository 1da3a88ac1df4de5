"""Consumption summed per day for the dashboards.

A span of days is asked one day at a time, each day grouped by one plain field, and the days are put
together here. The embedded server computes such a query in SQL over its indexes; an expression as group
key (the day of `created_at`, say) it computes in Python, document by document: about 60 µs each, seconds
for a few hundred thousand entries, on a core the relay would use."""
from models.logs import TYPE_CONSUME

DAY = 86400
SUMS = ("requests", "quota", "prompt_tokens", "completion_tokens")
_GROUP = {"requests": {"$sum": 1}, "quota": {"$sum": "$quota"},
          "prompt_tokens": {"$sum": "$prompt_tokens"}, "completion_tokens": {"$sum": "$completion_tokens"}}


def add_sums(into: dict, sums: dict) -> dict:
    for name in SUMS:
        into[name] = into.get(name, 0) + (sums.get(name) or 0)
    return into


def day_totals(groups: dict) -> dict:
    """One day's groups of LogStats.by_day added up."""
    total = dict.fromkeys(SUMS, 0)
    for sums in groups.values():
        add_sums(total, sums)
    return total


def leaders(days: list, limit: int) -> list:
    """The `limit` values with the most quota over the days of LogStats.by_day: [(value, sums)]."""
    totals = {}
    for _, groups in days:
        for value, sums in groups.items():
            add_sums(totals.setdefault(value, {}), sums)
    return sorted(totals.items(), key=lambda item: -item[1]["quota"])[:limit]


class LogStats:
    def __init__(self, collection):
        self.collection = collection

    async def by_day(self, field: str, first_day: int, days: int, **match) -> list:
        """[(day start, {value of `field`: sums})] for `days` days from `first_day` (unix seconds), where
        sums are the consumption entries' requests, quota, prompt_tokens and completion_tokens."""
        result = []
        for start in range(first_day, first_day + days * DAY, DAY):
            query = {"type": TYPE_CONSUME, "created_at": {"$gte": start, "$lt": start + DAY}, **match}
            cursor = await self.collection.aggregate([{"$match": query},
                                                      {"$group": {"_id": f"${field}", **_GROUP}}])
            groups = {}
            async for row in cursor:
                groups[row.pop("_id")] = add_sums({}, row)
            result.append((start, groups))
        return result
