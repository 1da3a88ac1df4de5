"""The operators' overview: today's and this week's traffic, the top models and users, channel health."""
import datetime
import time

from models.channels import STATUS_ENABLED
from models.log_stats import DAY


def _day_start(ts: float) -> int:
    return int(ts - ts % DAY)


class Overview:
    def __init__(self, stats, routing, clock=time.time):
        self.stats = stats
        self.routing = routing
        self.clock = clock

    async def build(self) -> dict:
        now = self.clock()
        today, week = _day_start(now), _day_start(now) - 6 * DAY
        per_day = await self.stats.per_day(week)
        days = [{"day": datetime.datetime.fromtimestamp(week + i * DAY, datetime.timezone.utc).strftime("%Y-%m-%d"),
                 "quota": per_day.get(week + i * DAY, 0)} for i in range(7)]
        return {
            "today": await self.stats.totals(today),
            "week": await self.stats.totals(week),
            "days": days,
            "top_models": [{"model_name": r["_id"], "quota": r["quota"], "requests": r["requests"]}
                           for r in await self.stats.top("model_name", week)],
            "top_users": [{"username": r["_id"], "quota": r["quota"], "requests": r["requests"]}
                          for r in await self.stats.top("username", week)],
            "channels": self._channel_health(),
        }

    def _channel_health(self) -> dict:
        channels = list(self.routing.channels.values())
        unhealthy = [{"id": c.id, "name": c.name, "status": c.status, "status_reason": c.status_reason}
                     for c in channels if c.status != STATUS_ENABLED]
        return {"total": len(channels), "enabled": len(channels) - len(unhealthy), "unhealthy": unhealthy[:20]}
