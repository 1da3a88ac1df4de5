"""Channel rules: validating and saving channels, keeping abilities and the routing table in step,
and the automatic disabling of channels whose key is dead."""
import logging
import time

import ujson

from models.channels import (
    STATUS_AUTO_DISABLED,
    STATUS_ENABLED,
    STATUS_MANUALLY_DISABLED,
    Channel,
)

from services.errors import NotFound, ServiceError

log = logging.getLogger("tollgate.channels")

CHANNEL_TYPES = {1: "OpenAI", 2: "Midjourney-Proxy", 3: "Azure OpenAI", 5: "Midjourney-Proxy-Plus",
                 8: "Custom (OpenAI-compatible)", 14: "Anthropic Claude", 24: "Google Gemini"}
STATUSES = (STATUS_ENABLED, STATUS_MANUALLY_DISABLED, STATUS_AUTO_DISABLED)
EDITABLE = ("type", "name", "key", "status", "base_url", "models", "groups", "model_mapping", "priority",
            "weight", "auto_ban", "test_model", "openai_organization", "auto_enable_interval", "config")


class ChannelError(ServiceError):
    pass


def _list(value, field) -> list:
    """A comma-separated string (One API's form) or a list of strings."""
    if isinstance(value, str):
        items = value.replace("\n", ",").split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise ChannelError(f"{field} must be a comma-separated string or a list of strings")
    return list(dict.fromkeys(v.strip() for v in items if v.strip()))


def _mapping(value) -> dict:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = ujson.loads(value)
        except ValueError:
            raise ChannelError("model_mapping must be a JSON object") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ChannelError("model_mapping must map model names to model names")
    return value


def _int(value, field, minimum=None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ChannelError(f"{field} must be a number")
    try:
        number = int(value)
    except (ValueError, OverflowError):     # "x", NaN, Infinity
        raise ChannelError(f"{field} must be a number") from None
    if minimum is not None and number < minimum:
        raise ChannelError(f"{field} must be at least {minimum}")
    return number


def clean_fields(data: dict) -> dict:
    """The editable fields of a channel from API input, checked and normalised."""
    fields = {}
    for name in EDITABLE:
        if name not in data:
            continue
        value = data[name]
        if name in ("models", "groups"):
            value = _list(value, name)
        elif name == "model_mapping":
            value = _mapping(value)
        elif name in ("type", "priority", "weight", "auto_enable_interval", "status"):
            value = _int(value, name, None if name == "priority" else 0)
        elif name == "auto_ban":
            value = bool(value)
        elif name == "config":
            if not isinstance(value, dict):
                raise ChannelError("config must be an object")
        elif not isinstance(value, str):
            raise ChannelError(f"{name} must be text")
        fields[name] = value.strip() if isinstance(value, str) else value
    if "group" in data and "groups" not in data:
        fields["groups"] = _list(data["group"], "group")
    if "type" in fields and fields["type"] not in CHANNEL_TYPES:
        raise ChannelError(f"unknown channel type {fields['type']}")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ChannelError("status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)")
    if "base_url" in fields and fields["base_url"] and not fields["base_url"].startswith(("http://", "https://")):
        raise ChannelError("base_url must start with http:// or https://")
    return fields


class ChannelService:
    def __init__(self, db, routing, changes, options=None):
        self.db = db
        self.routing = routing
        self.changes = changes
        self.options = options

    async def create(self, data: dict) -> list:
        """Create a channel; a key field with several lines creates one channel per key."""
        fields = clean_fields(data)
        keys = [k.strip() for k in fields.pop("key", "").split("\n") if k.strip()]
        if not keys:
            raise ChannelError("key is required")
        if not fields.get("name"):
            raise ChannelError("name is required")
        if not fields.get("models"):
            raise ChannelError("models must name at least one model")
        created = []
        for key in keys:
            channel = Channel(id=0, key=key, created_time=int(time.time()), **fields)
            await self.db.channels.create(channel)
            await self.db.abilities.replace_for_channel(channel)
            created.append(channel)
        await self.changes.publish("channels")
        return created

    async def update(self, channel_id: int, data: dict) -> Channel:
        channel = await self.get(channel_id)
        fields = clean_fields(data)
        if "key" in fields and not fields["key"]:
            del fields["key"]   # an empty key in an edit form means "keep the key"
        if "\n" in fields.get("key", ""):
            raise ChannelError("a channel has one key; several keys make several channels only on creation")
        for name, value in fields.items():
            setattr(channel, name, value)
        if not channel.models:
            raise ChannelError("models must name at least one model")
        if "status" in fields and fields["status"] == STATUS_ENABLED:
            channel.status_reason, channel.status_time = "", int(time.time())
        await self.db.channels.replace(channel)
        await self.db.abilities.replace_for_channel(channel)
        await self.changes.publish("channels")
        return channel

    async def get(self, channel_id: int) -> Channel:
        channel = await self.db.channels.get(channel_id)
        if channel is None:
            raise NotFound("no such channel")
        return channel

    async def page(self, keyword: str, page: int, size: int, group: str = "", model: str = "", status: int = 0):
        if status and status not in STATUSES:
            raise ChannelError("status must be 1, 2 or 3")
        return await self.db.channels.page(keyword, (page - 1) * size, size, group, model, status)

    async def delete(self, channel_id: int) -> bool:
        deleted = await self.db.channels.delete(channel_id)
        await self.db.abilities.delete_for_channel(channel_id)
        await self.changes.publish("channels")
        return deleted

    async def delete_many(self, ids) -> int:
        if not isinstance(ids, list) or not ids or not all(type(i) is int for i in ids):
            raise ChannelError("ids must be a non-empty list of channel ids")
        deleted = await self.db.channels.delete_many(ids)
        await self.db.abilities.delete_for_channels(ids)
        await self.changes.publish("channels")
        return deleted

    async def delete_disabled(self) -> int:
        """Delete every channel disabled by hand or automatically; returns how many went."""
        ids = await self.db.channels.ids_with_status((STATUS_MANUALLY_DISABLED, STATUS_AUTO_DISABLED))
        if not ids:
            return 0
        return await self.delete_many(ids)

    async def known_models(self) -> list:
        """Every model name Tollgate knows: priced in the options or served by some channel."""
        names = set()
        if self.options is not None:
            for table in ("ModelRatio", "ModelPrice"):
                names.update(n for n in self.options[table] if "*" not in n)
        for channel in await self.db.channels.all():
            names.update(channel.models)
        return sorted(names)

    async def enable_automatically(self, channel_id: int, reason: str = "") -> bool:
        """Re-enable a channel that was disabled automatically (never one disabled by hand)."""
        changed = await self.db.channels.set_status_if(channel_id, STATUS_AUTO_DISABLED, {
            "status": STATUS_ENABLED, "status_reason": reason[:500], "status_time": int(time.time()),
        })
        if changed:
            await self.db.abilities.set_enabled(channel_id, True)
            await self.changes.publish("channels")
            log.info("channel %s enabled automatically", channel_id)
        return changed

    async def disable_automatically(self, channel_id: int, reason: str):
        """Disable a channel whose key an upstream error proved dead; a channel already disabled
        (by hand or by another node) keeps its status."""
        changed = await self.db.channels.set_status_if(channel_id, STATUS_ENABLED, {
            "status": STATUS_AUTO_DISABLED, "status_reason": reason[:500], "status_time": int(time.time()),
        })
        self.routing.mark_disabled(channel_id, STATUS_AUTO_DISABLED)
        if changed:
            await self.db.abilities.set_enabled(channel_id, False)
            await self.changes.publish("channels")
            log.warning("channel %s disabled automatically: %s", channel_id, reason[:200])

    async def add_used_quota(self, channel_id: int, quota: int):
        if quota:
            await self.db.channels.add_used_quota(channel_id, quota)


def public_channel(channel: Channel, show_key: bool) -> dict:
    """A channel as the API shows it (One API's field forms); the key only for root."""
    return {
        "id": channel.id, "type": channel.type, "name": channel.name,
        "key": channel.key if show_key else "", "status": channel.status, "base_url": channel.base_url,
        "models": ",".join(channel.models), "group": ",".join(channel.groups),
        "model_mapping": ujson.dumps(channel.model_mapping) if channel.model_mapping else "",
        "priority": channel.priority, "weight": channel.weight, "created_time": channel.created_time,
        "test_time": channel.test_time, "response_time": channel.response_time, "balance": channel.balance,
        "balance_updated_time": channel.balance_updated_time, "used_quota": channel.used_quota,
        "auto_ban": 1 if channel.auto_ban else 0, "status_reason": channel.status_reason,
        "status_time": channel.status_time, "test_model": channel.test_model,
        "openai_organization": channel.openai_organization,
        "auto_enable_interval": channel.auto_enable_interval, "config": channel.config,
    }
