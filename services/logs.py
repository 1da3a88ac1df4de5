"""Writing and reading the request log: filtered pages, totals, searches, clean-up, and a key's own logs."""
import time

from models.logs import TYPE_CONSUME, TYPE_REFUND
from services.errors import ServiceError
from services.keys import split_key

MAX_PAGE_SIZE = 100
RECENT_SECONDS = 60        # the window of rpm and tpm


def _ratio_text(price) -> str:
    if price.per_call:
        return f"model price {price.fixed_price}, group ratio {price.group_ratio}"
    return (f"model ratio {price.model_ratio}, completion ratio {price.completion_ratio}, "
            f"group ratio {price.group_ratio}")


def log_entry(caller, log_type: int, content: str, **fields) -> dict:
    user = caller.user
    return {
        "type": log_type,
        "created_at": int(time.time()),
        "user_id": user.id,
        "username": user.username,
        "token_id": caller.token.id if caller.token else 0,
        "token_name": caller.token.name if caller.token else "",
        "content": content,
        "quota": 0,
        **fields,
    }


class LogService:
    def __init__(self, db, batch):
        self.db = db
        self.batch = batch    # consumption entries are written in batches; the rest at once

    async def write(self, caller, log_type: int, content: str, **fields):
        await self.db.logs.insert(log_entry(caller, log_type, content, **fields))

    async def write_once(self, request_id: str, caller, log_type: int, content: str, **fields):
        """Write an entry once per `request_id`, however often this is repeated."""
        await self.db.logs.insert_once(log_entry(caller, log_type, content, request_id=request_id, **fields))

    async def write_consumption(self, call, price, usage, charged, unpaid, outcome):
        channel = outcome.channel
        other = {
            "model_ratio": price.model_ratio,
            "completion_ratio": price.completion_ratio,
            "group_ratio": price.group_ratio,
            "model_price": price.fixed_price,
            "frt": outcome.first_event_ms,
        }
        upstream_model = channel.model_mapping.get(call.model) if channel.model_mapping else None
        if upstream_model:
            other["upstream_model_name"] = upstream_model
        await self.batch.add_log(log_entry(
            call.caller,
            TYPE_CONSUME,
            _ratio_text(price),
            model_name=call.model,
            channel_id=channel.id,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            quota=charged,
            unpaid_quota=unpaid,
            is_stream=call.stream,
            use_time_ms=int((time.monotonic() - call.started) * 1000),
            group=call.group,
            request_id=call.request_id,
            ip=call.client_ip,
            other=other,
        ))

    async def page(self, filters: dict, page: int, page_size: int, admin: bool = True):
        check_filters(filters)
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        docs, total = await self.db.logs.page(filters, max(page - 1, 0) * page_size, page_size)
        return [public_log(d, admin) for d in docs], total

    async def stat(self, filters: dict) -> dict:
        """Quota used by the selection (consumption entries unless a type is asked for), and requests and
        tokens per minute over the last minute."""
        check_filters(filters)
        filters = {**filters, "type": filters.get("type") or TYPE_CONSUME}
        selection = await self.db.logs.totals(filters)
        recent_filters = {k: v for k, v in filters.items() if k not in ("start_timestamp", "end_timestamp")}
        recent = await self.db.logs.totals(recent_filters, since=int(time.time()) - RECENT_SECONDS)
        return {"quota": selection["quota"], "rpm": recent["count"], "tpm": recent["tokens"]}

    async def delete_before(self, timestamp) -> int:
        if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp <= 0:
            raise ServiceError("target_timestamp must be a Unix time in seconds")
        return await self.db.logs.delete_before(timestamp)

    async def token_of_key(self, key: str, keyring):
        """The token behind a full `sk-` key, or a 401 error; disabled or spent keys may still read."""
        raw, _ = split_key(key)
        token = await self.db.tokens.by_key_hash(keyring.hash(raw)) if raw and len(raw) <= 128 else None
        if token is None:
            raise ServiceError("invalid API key", 401)
        return token


def check_filters(filters: dict):
    if not 0 <= filters.get("type", 0) <= TYPE_REFUND:
        raise ServiceError("type must be 0 (all) or 1 to 6")
    start, end = filters.get("start_timestamp", 0), filters.get("end_timestamp", 0)
    if start < 0 or end < 0 or (start and end and start > end):
        raise ServiceError("start_timestamp must not be after end_timestamp")


def public_log(doc: dict, admin: bool = True) -> dict:
    """A log entry as the API shows it; users' own views leave out the channel and administrators' notes."""
    doc = dict(doc)
    doc["id"] = str(doc.pop("_id"))
    if admin:
        doc["channel"] = doc.get("channel_id", 0)
        return doc
    doc.pop("channel_id", None)
    if isinstance(doc.get("other"), dict):
        doc["other"] = {k: v for k, v in doc["other"].items() if k != "admin_info"}
    return doc
