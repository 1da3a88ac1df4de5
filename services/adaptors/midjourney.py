"""The midjourney-proxy protocol: reading submit requests, building upstream calls, and converting task
objects between the upstream's camelCase shape and the stored record.

Channel types 2 (Midjourney-Proxy) and 5 (Midjourney-Proxy-Plus) speak it: the channel's base URL is the
proxy's root (routes under `/mj/...`) and its key is the proxy's api-secret, sent as `mj-api-secret`.
"""
import dataclasses
import re

import ujson

from services.errors import RelayError

CHANNEL_TYPES = (2, 5)
SUBMIT_KINDS = ("imagine", "change", "simple-change", "blend", "describe", "action", "modal", "shorten")
FOLLOW_UPS = ("change", "simple-change", "action", "modal")
MODES = ("fast", "relax", "turbo")

# Submit codes: 1 accepted, 21 exists / waits for a modal, 22 queued. Anything else is a refusal.
ACCEPTED_CODES = (1, 21, 22)
FINAL = ("SUCCESS", "FAILURE", "CANCEL")
FAILED = ("FAILURE", "CANCEL")
# How far along a status is; an update that would move a task backwards is an out-of-order report.
STATUS_RANK = {"": 0, "NOT_START": 0, "SUBMITTED": 1, "MODAL": 2, "IN_PROGRESS": 3,
               "SUCCESS": 4, "FAILURE": 4, "CANCEL": 4}

_SIMPLE_CHANGE = re.compile(r"^\s*(\S+)\s+([UuVv][1-4]|[Rr])\s*$")
_CHANGE_ACTIONS = {"UPSCALE", "VARIATION", "REROLL"}


@dataclasses.dataclass
class Submit:
    kind: str
    action: str
    body: dict
    mode: str = ""
    parent_id: str = ""

    @property
    def model(self) -> str:
        return model_of(self.action)

    @property
    def prompt(self) -> str:
        prompt = self.body.get("prompt")
        return prompt if isinstance(prompt, str) else ""


def model_of(action: str) -> str:
    """The model name an action is routed and priced by."""
    return "swap_face" if action == "SWAP_FACE" else "mj_" + action.lower()


def bad_request(message: str, code: str, param=None) -> RelayError:
    return RelayError(400, message, code, "invalid_request_error", param)


def parse_json_object(raw: bytes) -> dict:
    try:
        body = ujson.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "invalid_json")
    return body


def _text(body, name, code) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"`{name}` is required.", code, name)
    return value.strip()


def parse_submit(kind: str, raw: bytes, mode: str = "") -> Submit:
    """Check a submit request and find its action; a bad one is refused before anything is charged."""
    body = parse_json_object(raw)
    if kind in ("imagine", "shorten"):
        _text(body, "prompt", "prompt_is_required")
        return Submit(kind, kind.upper(), body, mode)
    if kind == "describe":
        _text(body, "base64", "base64_is_required")
        return Submit(kind, "DESCRIBE", body, mode)
    if kind == "blend":
        images = body.get("base64Array")
        if not isinstance(images, list) or not 2 <= len(images) <= 5 or not all(isinstance(i, str) for i in images):
            raise bad_request("`base64Array` must hold 2 to 5 images.", "base64_array_invalid", "base64Array")
        return Submit(kind, "BLEND", body, mode)
    if kind == "simple-change":
        return _simple_change(body, mode)
    parent = _text(body, "taskId", "task_id_is_required")
    if kind == "change":
        return Submit(kind, _change_action(body), body, mode, parent)
    if kind == "action":
        return Submit(kind, action_of_custom_id(_text(body, "customId", "custom_id_is_required")), body, mode, parent)
    return Submit(kind, "MODAL", body, mode, parent)


def _change_action(body) -> str:
    action = body.get("action")
    if not isinstance(action, str) or action.upper() not in _CHANGE_ACTIONS:
        raise bad_request("`action` must be UPSCALE, VARIATION or REROLL.", "action_is_required", "action")
    action = action.upper()
    index = body.get("index")
    if action != "REROLL" and (isinstance(index, bool) or index not in (1, 2, 3, 4)):
        raise bad_request("`index` must be 1 to 4.", "index_is_required", "index")
    return action


def _simple_change(body, mode) -> Submit:
    match = _SIMPLE_CHANGE.match(body.get("content") if isinstance(body.get("content"), str) else "")
    if not match:
        raise bad_request("`content` must be '<taskId> U1..U4|V1..V4|R'.", "content_invalid", "content")
    operation = match.group(2).upper()
    action = {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}[operation[0]]
    return Submit("simple-change", action, body, mode, match.group(1))


def action_of_custom_id(custom_id: str) -> str:
    """The action a button id stands for, e.g. `MJ::JOB::upsample::1::<uuid>` → UPSCALE."""
    parts = custom_id.split("::")
    if len(parts) < 2:
        raise bad_request(f"unknown action in customId {custom_id!r}", "unknown_action", "customId")
    word = parts[2] if parts[1] == "JOB" and len(parts) > 2 else parts[1]
    for needle, action in (("low_variation", "LOW_VARIATION"), ("high_variation", "HIGH_VARIATION"),
                           ("upsample", "UPSCALE"), ("variation", "VARIATION"), ("reroll", "REROLL"),
                           ("CustomZoom", "CUSTOM_ZOOM"), ("Outpaint", "ZOOM"), ("Inpaint", "INPAINT"),
                           ("pan", "PAN")):
        if needle in word:
            return action
    raise bad_request(f"unknown action in customId {custom_id!r}", "unknown_action", "customId")


# The upstream call ---------------------------------------------------------------------------------
def upstream_url(channel, path: str, mode: str = "") -> str:
    """`path` below the proxy's /mj root; a speed mode goes in front as midjourney-proxy plus mounts it."""
    prefix = f"/mj-{mode}" if mode else ""
    return f"{channel.base_url.rstrip('/')}{prefix}/mj/{path.lstrip('/')}"


def upstream_headers(channel) -> dict:
    headers = {"Content-Type": "application/json"}
    if channel.key:
        headers["mj-api-secret"] = channel.key
    return headers


def upstream_body(submit: Submit, notify_hook: str) -> bytes:
    """The client's body with what only the gateway decides replaced: the callback address (the upstream
    reports to the gateway, not to an address a client chose) and the upstream account filter."""
    body = {k: v for k, v in submit.body.items() if k not in ("notifyHook", "accountFilter")}
    if notify_hook:
        body["notifyHook"] = notify_hook
    return ujson.dumps(body, ensure_ascii=False).encode()


def read_submit_result(status: int, body: bytes) -> dict:
    """The upstream's submit result `{code, description, result, properties}`, or a RelayError."""
    if status == 599:
        raise RelayError(502, "The Midjourney upstream could not be reached.", "upstream_unreachable",
                         "upstream_error")
    if status != 200:
        raise RelayError(502, f"The Midjourney upstream answered with status {status}.", "upstream_error",
                         "upstream_error")
    try:
        payload = ujson.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("code"), int):
        raise RelayError(502, "The Midjourney upstream answered with an unreadable submit result.",
                         "bad_upstream_response", "upstream_error")
    return payload


# Task objects ------------------------------------------------------------------------------------
_TASK_TEXT = {"promptEn": "prompt_en", "description": "description", "state": "state", "status": "status",
              "progress": "progress", "imageUrl": "image_url", "failReason": "fail_reason"}
_TASK_TIMES = {"submitTime": "submit_time", "startTime": "start_time", "finishTime": "finish_time"}


def task_fields(task: dict) -> dict:
    """The record fields an upstream task object (fetch, list-by-condition, notify) reports."""
    fields = {}
    for name, field in _TASK_TEXT.items():
        value = task.get(name)
        if isinstance(value, str):
            fields[field] = value
    for name, field in _TASK_TIMES.items():
        value = task.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            fields[field] = value
    if isinstance(task.get("buttons"), list):
        fields["buttons"] = task["buttons"]
    if isinstance(task.get("properties"), dict):
        fields["properties"] = task["properties"]
    return fields


def _percent(progress: str) -> int:
    digits = progress.strip().rstrip("%")
    return int(digits) if digits.isdigit() else 0


def is_stale(status: str, progress: str, new_status: str, new_progress: str) -> bool:
    """Whether a report is older than what is stored (callbacks may arrive out of order)."""
    old_rank, new_rank = STATUS_RANK.get(status, 0), STATUS_RANK.get(new_status, 0)
    if new_rank != old_rank:
        return new_rank < old_rank
    return new_status == status and _percent(new_progress) < _percent(progress)


def image_address(task, base_url: str) -> str:
    """The gateway's own address for a task's image (the upstream's URL never leaves the gateway)."""
    if not task.image_url:
        return ""
    return f"{base_url.rstrip('/')}/mj/image/{task.mj_id}"


def client_task(task, base_url: str) -> dict:
    """A stored task in midjourney-proxy's shape, as fetch and list-by-condition return it."""
    properties = {k: task.properties[k] for k in ("finalPrompt", "finalZhPrompt") if k in task.properties}
    return {
        "id": task.mj_id, "action": task.action, "prompt": task.prompt, "promptEn": task.prompt_en,
        "description": task.description, "state": task.state, "status": task.status,
        "progress": task.progress, "submitTime": task.submit_time or None,
        "startTime": task.start_time or None, "finishTime": task.finish_time or None,
        "imageUrl": image_address(task, base_url), "failReason": task.fail_reason,
        "buttons": task.buttons, "properties": properties,
    }


def task_record(task, base_url: str, admin: bool) -> dict:
    """A stored task for the dashboards (snake_case, as One API forks list them)."""
    record = {
        "id": task.id, "mj_id": task.mj_id, "code": task.code, "user_id": task.user_id, "action": task.action,
        "mode": task.mode, "prompt": task.prompt, "prompt_en": task.prompt_en, "description": task.description,
        "state": task.state, "status": task.status, "progress": task.progress, "submit_time": task.submit_time,
        "start_time": task.start_time, "finish_time": task.finish_time,
        "image_url": image_address(task, base_url), "fail_reason": task.fail_reason, "buttons": task.buttons,
        "properties": task.properties, "quota": task.quota, "refunded": task.refunded,
        "created_at": task.created_at,
    }
    if admin:
        record["channel_id"] = task.channel_id
        record["token_id"] = task.token_id
    return record
