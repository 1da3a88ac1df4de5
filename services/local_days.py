"""Days of a dashboard reader's time zone: the page sends its offset, in minutes east of UTC, and days are
counted from that zone's midnight (UTC days when it sends none)."""
import datetime

from models.log_stats import DAY
from services.errors import ServiceError

MAX_UTC_OFFSET = 14 * 60    # minutes: the furthest time zones from UTC


def local_today(utc_offset: int, now: float) -> tuple:
    """(the offset in seconds, today's 00:00 there written as if it were UTC). ServiceError when no time
    zone is that far from UTC."""
    if not -MAX_UTC_OFFSET <= utc_offset <= MAX_UTC_OFFSET:
        raise ServiceError(f"utc_offset must be minutes from -{MAX_UTC_OFFSET} to {MAX_UTC_OFFSET}")
    offset = utc_offset * 60
    local_now = int(now) + offset
    return offset, local_now - local_now % DAY


def day_text(local_day: int) -> str:
    """A day start as local_today gives it, as YYYY-MM-DD."""
    return datetime.datetime.fromtimestamp(local_day, datetime.timezone.utc).strftime("%Y-%m-%d")
