"""The operators' overview: today's and this week's traffic, the top models and users, channel health.
Days are those of the operator's time zone when the page sends its offset, else UTC days."""
import time

from models.channels import STATUS_ENABLED
from models.log_stats import DAY
from services.local_days import day_text, local_today


class Overview:
    def __init__(self, stats, routing, clock=time.time):
        self.stats = stats
        self.routing = routing
        self.clock = clock

    async def build(self, utc_offset: int = 0) -> dict:
        """`utc_offset`: the time zone's minutes east of UTC."""
        offset, local_today_start = local_today(utc_offset, self.clock())
        local_week = local_today_start - 6 * DAY
        today, week = local_today_start - offset, local_week - offset
        per_day = await self.stats.per_day(week, offset)
        days = [{"day": day_text(local_week + i * DAY), "quota": per_day.get(local_week + i * DAY, 0)}
                for i in range(7)]
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
