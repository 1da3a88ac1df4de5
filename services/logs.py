"""Writing and reading the request log."""
import time

from models.logs import TYPE_CONSUME

MAX_PAGE_SIZE = 100


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

    async def page(self, filters: dict, page: int, page_size: int):
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        docs, total = await self.db.logs.page(filters, max(page - 1, 0) * page_size, page_size)
        return [public_log(d) for d in docs], total


def public_log(doc: dict) -> dict:
    doc = dict(doc)
    doc["id"] = str(doc.pop("_id"))
    doc["channel"] = doc.get("channel_id", 0)
    return doc
