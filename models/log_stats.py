"""Aggregates over the `logs` collection for dashboards. Only single-field group keys are used: the
embedded server does not evaluate document-valued `_id` expressions in `$group`."""
from models.logs import TYPE_CONSUME

DAY = 86400


def _consumed(since: int, until: int = None, **match) -> dict:
    span = {"$gte": since}
    if until is not None:
        span["$lt"] = until
    return {"type": TYPE_CONSUME, "created_at": span, **match}


def _local_day(offset: int) -> dict:
    """The day of `created_at` in a time zone `offset` seconds east of UTC, as its 00:00 written as UTC."""
    local = {"$add": ["$created_at", offset]}
    return {"$subtract": [local, {"$mod": [local, DAY]}]}


class LogStats:
    def __init__(self, collection):
        self.collection = collection

    async def _aggregate(self, pipeline) -> list:
        cursor = await self.collection.aggregate(pipeline)
        return await cursor.to_list(length=None)

    async def totals(self, since: int, **match) -> dict:
        rows = await self._aggregate([
            {"$match": _consumed(since, **match)},
            {"$group": {"_id": None, "requests": {"$sum": 1}, "quota": {"$sum": "$quota"},
                        "tokens": {"$sum": {"$add": ["$prompt_tokens", "$completion_tokens"]}}}},
        ])
        row = rows[0] if rows else {}
        return {"requests": row.get("requests", 0), "quota": row.get("quota", 0), "tokens": row.get("tokens", 0)}

    async def per_day(self, since: int, offset: int = 0, **match) -> dict:
        """{day start: quota}, days of a time zone `offset` seconds east of UTC (0: UTC days); a day start is
        in unix seconds at 00:00 UTC of the day's date."""
        rows = await self._aggregate([
            {"$match": _consumed(since, **match)},
            {"$group": {"_id": _local_day(offset), "quota": {"$sum": "$quota"}}},
        ])
        return {int(row["_id"]): row["quota"] for row in rows}

    async def top(self, field: str, since: int, limit: int = 5, **match) -> list:
        return await self._aggregate([
            {"$match": _consumed(since, **match)},
            {"$group": {"_id": f"${field}", "quota": {"$sum": "$quota"}, "requests": {"$sum": 1}}},
            {"$sort": {"quota": -1}},
            {"$limit": limit},
        ])

    async def daily_by_model(self, user_id: int, since: int, offset: int = 0) -> list:
        """Consumption of one user per day and model since `since`: one dict per (day, model) with
        day (unix seconds at 00:00 UTC of the day's date), model_name, request_count, quota, prompt_tokens,
        completion_tokens. Days are UTC days, or those of a time zone `offset` seconds east of UTC.

        The group key is one string "day|model": compound group keys are not available on every server
        this runs on, and a day number never contains "|"."""
        key = {"$concat": [{"$toString": _local_day(offset)}, "|", {"$ifNull": ["$model_name", ""]}]}
        pipeline = [
            {"$match": _consumed(since, user_id=user_id)},
            {"$project": {"k": key, "quota": 1, "prompt_tokens": 1, "completion_tokens": 1}},
            {"$group": {"_id": "$k", "request_count": {"$sum": 1}, "quota": {"$sum": "$quota"},
                        "prompt_tokens": {"$sum": "$prompt_tokens"},
                        "completion_tokens": {"$sum": "$completion_tokens"}}},
            {"$sort": {"_id": 1}},
        ]
        rows = []
        for doc in await self._aggregate(pipeline):
            start, _, model = doc.pop("_id").partition("|")
            rows.append({"day": int(float(start)), "model_name": model, **doc})
        return rows
