"""Channel balances from OpenAI-compatible billing endpoints.

balance (USD) = `hard_limit_usd` of GET {base}/v1/dashboard/billing/subscription
              − `total_usage` (cents) / 100 of GET {base}/v1/dashboard/billing/usage over the last 100 days,
as One API computes it. Only OpenAI-type channels have these endpoints.
"""
import datetime
import time

import ujson

from models.channels import STATUS_ENABLED
from services.adaptors.openai import CHANNEL_TYPES, DEFAULT_BASE_URL
from services.errors import ServiceError, upstream_error
from services.upstream import NO_RESPONSE

BALANCE_TIMEOUT = 30       # seconds per upstream call
USAGE_DAYS = 100


class BalanceError(ServiceError):
    status = 502


class ChannelBalances:
    def __init__(self, db, upstream, channels, options):
        self.db = db
        self.upstream = upstream
        self.channels = channels
        self.options = options

    async def update(self, channel_id: int) -> float:
        """Ask the upstream for the channel's balance, store it with the time, and return it."""
        channel = await self.channels.get(channel_id)
        if channel.type not in CHANNEL_TYPES:
            raise ServiceError(f"balance queries are not supported for channel type {channel.type}")
        base = (channel.base_url or DEFAULT_BASE_URL).rstrip("/")
        headers = {"Authorization": f"Bearer {channel.key}"}
        if channel.openai_organization:
            headers["OpenAI-Organization"] = channel.openai_organization
        subscription = await self._get(f"{base}/v1/dashboard/billing/subscription", headers)
        today = datetime.date.today()
        start = (today - datetime.timedelta(days=USAGE_DAYS)).isoformat()
        end = (today + datetime.timedelta(days=1)).isoformat()
        usage = await self._get(f"{base}/v1/dashboard/billing/usage?start_date={start}&end_date={end}", headers)
        limit, used = _number(subscription, "hard_limit_usd"), _number(usage, "total_usage")
        balance = round(limit - used / 100, 6)
        await self.db.channels.update(channel.id, {"balance": balance, "balance_updated_time": int(time.time())})
        if balance <= 0 and channel.auto_ban and self.options["AutomaticDisableChannelEnabled"]:
            await self.channels.disable_automatically(channel.id, "the upstream balance is used up")
        return balance

    async def _get(self, url, headers) -> dict:
        response = await self.upstream.fetch(url, "GET", headers, None, timeout=BALANCE_TIMEOUT)
        if response.status == NO_RESPONSE:
            raise BalanceError(f"the upstream did not answer: {response.error}")
        if response.status != 200:
            raise BalanceError(f"the upstream answered {response.status}: "
                               f"{upstream_error(response.status, response.body).message}")
        try:
            payload = ujson.loads(response.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise BalanceError("the upstream billing answer is not a JSON object")
        return payload

    async def update_all(self) -> list:
        """Update every enabled OpenAI-type channel; one result per channel, failures included."""
        results = []
        for channel in await self.db.channels.all():
            if channel.status != STATUS_ENABLED or channel.type not in CHANNEL_TYPES:
                continue
            try:
                results.append({"id": channel.id, "success": True, "balance": await self.update(channel.id)})
            except ServiceError as exc:
                results.append({"id": channel.id, "success": False, "message": str(exc)})
        return results


def _number(payload: dict, field: str) -> float:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BalanceError(f"the upstream billing answer has no number {field}")
    return float(value)
