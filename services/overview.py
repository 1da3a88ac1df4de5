"""The operators' overview: today's and this week's traffic, the top models and users, channel health.
Days are those of the operator's time zone when the page sends its offset, else UTC days."""
import datetime
import time

from models.channels import STATUS_ENABLED
from models.log_stats import DAY
from services.accounts import MAX_UTC_OFFSET
from services.errors import ServiceError


class Overview:
    def __init__(self, stats, routing, clock=time.time):
        self.stats = stats
        self.routing = routing
        self.clock = clock

    async def build(self, utc_offset: int = 0) -> dict:
        """`utc_offset`: the time zone's minutes east of UTC."""
        if not -MAX_UTC_OFFSET <= utc_offset <= MAX_UTC_OFFSET:
            raise ServiceError(f"utc_offset must be minutes from -{MAX_UTC_OFFSET} to {MAX_UTC_OFFSET}")
        offset = utc_offset * 60
        local_now = int(self.clock()) + offset
        local_week = local_now - local_now % DAY - 6 * DAY     # the first day's 00:00, as if in UTC
        today, week = local_week + 6 * DAY - offset, local_week - offset
        per_day = await self.stats.per_day(week, offset)
        days = [{"day": datetime.datetime.fromtimestamp(local_week + i * DAY, datetime.timezone.utc).strftime("%Y-%m-%d"),
                 "quota": per_day.get(local_week + i * DAY, 0)} for i in range(7)]
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
