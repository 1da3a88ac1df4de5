"""The operators' overview: today's and this week's traffic, the top models and users, channel health.
Days are those of the operator's time zone when the page sends its offset, else UTC days."""
import time

from models.channels import STATUS_ENABLED
from models.log_stats import DAY, SUMS, add_sums, day_totals, leaders
from services.local_days import day_text, local_today

WEEK_DAYS = 7
TOP = 5


def _traffic(days: list) -> dict:
    """Requests, quota and tokens over [(day start, that day's totals)]."""
    total = dict.fromkeys(SUMS, 0)
    for _, sums in days:
        add_sums(total, sums)
    return {"requests": total["requests"], "quota": total["quota"],
            "tokens": total["prompt_tokens"] + total["completion_tokens"]}


class Overview:
    def __init__(self, stats, routing, clock=time.time):
        self.stats = stats
        self.routing = routing
        self.clock = clock

    async def build(self, utc_offset: int = 0) -> dict:
        """`utc_offset`: the time zone's minutes east of UTC."""
        offset, local_today_start = local_today(utc_offset, self.clock())
        week = local_today_start - (WEEK_DAYS - 1) * DAY - offset
        models = await self.stats.by_day("model_name", week, WEEK_DAYS)
        users = await self.stats.by_day("username", week, WEEK_DAYS)
        days = [(start, day_totals(groups)) for start, groups in models]
        return {
            "today": _traffic(days[-1:]),
            "week": _traffic(days),
            "days": [{"day": day_text(start + offset), "quota": sums["quota"]} for start, sums in days],
            "top_models": [{"model_name": name, "quota": sums["quota"], "requests": sums["requests"]}
                           for name, sums in leaders(models, TOP)],
            "top_users": [{"username": name, "quota": sums["quota"], "requests": sums["requests"]}
                          for name, sums in leaders(users, TOP)],
            "channels": self._channel_health(),
        }

    def _channel_health(self) -> dict:
        channels = list(self.routing.channels.values())
        unhealthy = [{"id": c.id, "name": c.name, "status": c.status, "status_reason": c.status_reason}
                     for c in channels if c.status != STATUS_ENABLED]
        return {"total": len(channels), "enabled": len(channels) - len(unhealthy), "unhealthy": unhealthy[:20]}
