"""Is this node able to serve: MongoDB answers, and Redis too when one is configured."""
import asyncio
import time

TIMEOUT_SECONDS = 3


async def _probe(ping) -> dict:
    started = time.monotonic()
    try:
        await asyncio.wait_for(ping(), TIMEOUT_SECONDS)
    except Exception as exc:     # any failure means "not reachable"; the kind of failure is the detail
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round(1000 * (time.monotonic() - started), 1)}


async def check(services) -> dict:
    """{"mongodb": {...}, "redis": {...} or None when Redis is not configured}."""
    report = {"mongodb": await _probe(services.db.ping), "redis": None}
    if services.redis is not None:
        report["redis"] = await _probe(services.redis.ping)
    return report
