"""The Midjourney relay: submits billed per action, tasks tracked in `mj_tasks`, failed tasks refunded.

A submit is priced by its action's model name (`mj_imagine`, `mj_upscale`, ...) as a fixed price times
the group ratio; the price is reserved before the upstream call and kept only when the upstream accepts
the task (code 1, 21 or 22). A task that later ends in FAILURE or CANCEL gets its quota back exactly
once (`MjTasks.claim_refund`), whichever of the poller, the notify hook or the time-out reports it first.
"""
import dataclasses
import hmac
import logging
import mimetypes
import time

import ujson

from models.channels import STATUS_ENABLED
from models.logs import TYPE_CONSUME, TYPE_REFUND
from models.mj_tasks import MjTask
from services.adaptors import midjourney as mj
from services.errors import RelayError
from services.keys import Caller
from services.pricing import Price, PriceNotSet

log = logging.getLogger("tollgate.midjourney")

DEFAULT_PRICE = 0.1     # USD per call for an mj_* model no price is set for (New API does the same)
REFUSED_CHANNEL_CODE = 3  # "no account instance available": the channel cannot serve anything
# Seconds for whole upstream calls (New API's values): a hung proxy must not hold a reserved charge.
SUBMIT_TIMEOUT, SEED_TIMEOUT, LIST_TIMEOUT = 60, 30, 15


def _not_found(what="task") -> RelayError:
    return RelayError(404, f"There is no such {what}.", f"{what}_not_found", "invalid_request_error")


class MidjourneyService:
    def __init__(self, db, options, pricing, billing, routing, upstream, channels, logs, keyring, settings):
        self.db = db
        self.options = options
        self.pricing = pricing
        self.billing = billing
        self.routing = routing
        self.upstream = upstream
        self.channels = channels
        self.logs = logs
        self.keyring = keyring
        self.settings = settings

    # Addresses --------------------------------------------------------------------------------
    def public_base(self, fallback: str) -> str:
        """The gateway's address for clients: the ServerAddress option, else what the request came to."""
        return self.options["ServerAddress"] or fallback

    def notify_token(self, channel_id: int) -> str:
        return self.keyring.hash(f"mj-notify:{channel_id}")[:32]

    def notify_hook(self, channel_id: int) -> str:
        """Where the upstream reports task changes; empty when no ServerAddress is set (polling only)."""
        base = self.options["ServerAddress"]
        if not base:
            return ""
        return f"{base.rstrip('/')}/mj/notify?channel={channel_id}&token={self.notify_token(channel_id)}"

    # Submit -----------------------------------------------------------------------------------
    async def submit(self, caller, kind: str, raw: bytes, mode: str = "") -> dict:
        """Relay one submit. Returns the submit result for the client; raises RelayError when the gateway
        refuses it (nothing charged)."""
        submit = mj.parse_submit(kind, raw, mode or "")
        token, group = caller.token, caller.token.group or caller.user.group
        if token.models and submit.model not in token.models:
            raise RelayError(403, f"This API key may not use the model {submit.model}.", "model_not_allowed",
                             "invalid_request_error", "model")
        parent = await self._parent(caller, submit) if submit.parent_id else None
        channel = self._channel_for(caller, submit, group, parent)
        price = self._price(submit.model, group)
        quota = self.pricing.call_quota(price)
        charge = await self.billing.pre_charge(token, caller.user, quota)
        try:
            result = await self._send(channel, submit)
        except BaseException:
            await self.billing.refund(charge)
            raise
        task_id = result.get("result")
        if result["code"] not in mj.ACCEPTED_CODES or not isinstance(task_id, str) or not task_id:
            await self.billing.refund(charge)
            await self._maybe_disable(channel, result)
            return result
        try:
            await self._store(caller, channel, submit, parent, result, quota)
        except BaseException:
            await self.billing.refund(charge)
            raise
        charged, _ = await self.billing.settle(charge, quota)
        self.billing.record_channel(channel.id, charged)
        await self._log_consume(caller, channel, submit, price, charged, task_id, group)
        return _client_result(result)

    async def _parent(self, caller, submit):
        """Follow-ups act on one of the caller's own tasks and go to the channel that made it."""
        parent = await self.db.mj_tasks.by_mj_id(submit.parent_id, user_id=caller.user.id)
        if parent is None:
            raise RelayError(404, f"There is no task {submit.parent_id}.", "task_not_found",
                             "invalid_request_error", "taskId")
        if submit.kind != "modal" and parent.status != "SUCCESS":
            raise RelayError(400, f"Task {submit.parent_id} has not succeeded (it is {parent.status}).",
                             "task_status_not_success", "invalid_request_error", "taskId")
        return parent

    def _channel_for(self, caller, submit, group, parent):
        if parent:
            channel = self.routing.channels.get(parent.channel_id)
            if channel is None or channel.status != STATUS_ENABLED:
                raise RelayError(503, f"The channel of this task ({parent.channel_id}) is not available.",
                                 "channel_unavailable")
            return channel
        if caller.pinned_channel:
            return self.routing.pinned(caller.pinned_channel)
        channel = self.routing.pick(group, submit.model)
        if channel is None:
            raise RelayError(503, f"No channel is available for {submit.model} in the group {group} right now.",
                             "no_available_channel")
        return channel

    def _price(self, model: str, group: str) -> Price:
        try:
            price = self.pricing.price(model, group, per_call_token=True)
        except PriceNotSet:
            price = None
        if price is None or not price.per_call:
            price = Price(0, 0, self.pricing.group_ratio(group), DEFAULT_PRICE)
        return price

    async def _send(self, channel, submit) -> dict:
        response = await self.upstream.fetch(
            mj.upstream_url(channel, f"submit/{submit.kind}", submit.mode), "POST",
            mj.upstream_headers(channel), mj.upstream_body(submit, self.notify_hook(channel.id)), SUBMIT_TIMEOUT)
        return mj.read_submit_result(response.status, response.body)

    async def _maybe_disable(self, channel, result):
        if (result["code"] == REFUSED_CHANNEL_CODE and self.options["AutomaticDisableChannelEnabled"]
                and channel.auto_ban):
            await self.channels.disable_automatically(channel.id, f"upstream: {result.get('description', '')}")

    async def _store(self, caller, channel, submit, parent, result, quota):
        now = time.time()
        properties = result.get("properties") if isinstance(result.get("properties"), dict) else {}
        task = MjTask(id=0, mj_id=result["result"], user_id=caller.user.id, channel_id=channel.id,
                      token_id=caller.token.id, action=submit.action, mode=submit.mode, code=result["code"],
                      prompt=submit.prompt or (parent.prompt if parent else ""),
                      description=str(result.get("description") or ""), submit_time=int(now * 1000),
                      quota=quota, created_at=int(now), updated_at=int(now))
        if submit.body.get("state") is not None:
            task.state = str(submit.body["state"])
        if result["code"] == 21:   # exists already (open edition) or waits for a modal (plus)
            task.status = "SUCCESS" if properties.get("status") == "SUCCESS" else "MODAL"
            if task.status == "SUCCESS":
                task.progress, task.finished = "100%", True
                task.image_url = str(properties.get("imageUrl") or "")
        return await self.db.mj_tasks.create(task)

    async def _log_consume(self, caller, channel, submit, price, charged, task_id, group):
        if not self.options["LogConsumeEnabled"]:
            return
        await self.logs.write(
            caller, TYPE_CONSUME,
            f"model price {price.fixed_price}, group ratio {price.group_ratio}, action {submit.action}, "
            f"task {task_id}",
            model_name=submit.model, channel_id=channel.id, quota=charged, prompt_tokens=0,
            completion_tokens=0, is_stream=False, group=group, mj_id=task_id,
            other={"model_price": price.fixed_price, "group_ratio": price.group_ratio})

    # Reading tasks ----------------------------------------------------------------------------
    async def own_task(self, caller, mj_id: str):
        task = await self.db.mj_tasks.by_mj_id(mj_id, user_id=caller.user.id)
        if task is None:
            raise _not_found()
        return task

    async def fetch(self, caller, mj_id: str, base_url: str) -> dict:
        return mj.client_task(await self.own_task(caller, mj_id), self.public_base(base_url))

    async def list_by_condition(self, caller, raw: bytes, base_url: str) -> list:
        ids = mj.parse_json_object(raw).get("ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 1000:
            raise mj.bad_request("`ids` must be a list of at most 1000 task ids.", "ids_invalid", "ids")
        found = {t.mj_id: t for t in await self.db.mj_tasks.of_user(caller.user.id, list(dict.fromkeys(ids)))}
        base = self.public_base(base_url)
        return [mj.client_task(found[i], base) for i in dict.fromkeys(ids) if i in found]

    async def image_seed(self, caller, mj_id: str) -> dict:
        task = await self.own_task(caller, mj_id)
        channel = self.routing.channels.get(task.channel_id)
        if channel is None:
            raise RelayError(503, "The channel of this task no longer exists.", "channel_unavailable")
        response = await self.upstream.fetch(mj.upstream_url(channel, f"task/{task.mj_id}/image-seed"), "GET",
                                             mj.upstream_headers(channel), timeout=SEED_TIMEOUT)
        return mj.read_submit_result(response.status, response.body)

    async def page(self, filters: dict, page: int, size: int, base_url: str, admin: bool):
        tasks, total = await self.db.mj_tasks.page(filters, (page - 1) * size, size)
        base = self.public_base(base_url)
        return [mj.task_record(t, base, admin) for t in tasks], total

    # The image proxy --------------------------------------------------------------------------
    async def open_image(self, mj_id: str) -> "ImageStream":
        """The task's image, read from the stored upstream URL (never from anything in the request)."""
        task = await self.db.mj_tasks.by_mj_id(mj_id)
        if task is None or not task.image_url.startswith(("http://", "https://")):
            raise _not_found("image")
        stream = self.upstream.open_stream(task.image_url, "GET")
        try:
            await stream.wait_headers(self.settings.streaming_timeout)
        except TimeoutError:
            stream.cancel_now()
            raise RelayError(504, "The image host did not answer in time.", "image_timeout") from None
        if stream.status != 200:
            stream.cancel_now()
            raise RelayError(502, f"The image host answered with status {stream.status}.", "image_fetch_failed",
                             "upstream_error")
        return ImageStream(stream, _image_type(stream.headers.get("Content-Type", ""), task.image_url),
                           self.settings.streaming_timeout)

    # Tracking ---------------------------------------------------------------------------------
    async def notify(self, channel_id: int, token: str, raw: bytes):
        """An upstream's callback with a task object: check it came from the hook we gave, then apply."""
        if not channel_id or not hmac.compare_digest(token.encode(), self.notify_token(channel_id).encode()):
            raise RelayError(401, "This notify address is not valid.", "invalid_notify_token")
        report = mj.parse_json_object(raw)
        if not isinstance(report.get("id"), str):
            raise mj.bad_request("The task object has no id.", "task_id_is_required", "id")
        task = await self.db.mj_tasks.by_mj_id(report["id"], channel_id=channel_id)
        if task is None:
            raise _not_found()
        await self.apply_update(task, report)

    async def apply_update(self, task, report: dict):
        """Apply an upstream task report; refund when the task failed. Returns the task as it now is."""
        fields = mj.task_fields(report)
        status = fields.get("status", task.status)
        if fields.get("fail_reason") and status not in mj.FINAL:
            status = "FAILURE"
        fields["status"] = status
        if status in mj.FINAL:
            fields.update(progress="100%", finished=True)
        stale = mj.is_stale(task.status, task.progress, status, fields.get("progress", task.progress))
        changed = any(getattr(task, k) != v for k, v in fields.items())
        if not task.finished and not stale and changed:
            fields["updated_at"] = int(time.time())
            if await self.db.mj_tasks.update_unfinished(task.id, fields):
                task = dataclasses.replace(task, **fields)
        if task.status in mj.FAILED:
            await self.refund(task)
        return task

    async def fail(self, task, reason: str):
        return await self.apply_update(task, {"status": "FAILURE", "failReason": reason,
                                              "finishTime": int(time.time() * 1000)})

    async def refund(self, task):
        """Give a failed task's quota back, once: only the caller that flips `refunded` pays it out."""
        if task.quota <= 0 or not await self.db.mj_tasks.claim_refund(task.id, int(time.time())):
            return False
        await self.pay_refund(task)
        return True

    async def pay_refund(self, task):
        """Pay a claimed refund in full. Each step is applied once per task, so a refund that a crash cut
        short is finished by calling this again (the poller does, see `MjPoller.poll_once`)."""
        db, amount, ref = self.db, task.quota, f"mj-refund:{task.id}"
        token = await db.tokens.get(task.token_id) if task.token_id else None
        await db.users.refund_once(task.user_id, amount, ref)
        if token is not None:
            await db.tokens.refund_once(token.id, amount, ref, limited=not token.unlimited_quota)
        await db.channels.add_used_quota_once(task.channel_id, -amount, ref)
        user = await db.users.get(task.user_id)
        if user is not None:
            await self.logs.write_once(ref, Caller(token, user), TYPE_REFUND,
                                       f"Midjourney task {task.mj_id} failed ({task.fail_reason or task.status}); "
                                       f"refunded {amount}",
                                       model_name=mj.model_of(task.action), channel_id=task.channel_id,
                                       quota=amount, mj_id=task.mj_id)
        await db.mj_tasks.refund_paid(task.id)

    async def list_upstream(self, channel, ids: list):
        """Task objects for `ids` from the channel's list-by-condition, or None when that failed."""
        body = ujson.dumps({"ids": ids}).encode()
        response = await self.upstream.fetch(mj.upstream_url(channel, "task/list-by-condition"), "POST",
                                             mj.upstream_headers(channel), body, LIST_TIMEOUT)
        payload = _json_list(response)
        if payload is None:
            log.warning("channel %s: list-by-condition answered %s", channel.id, response.status)
        return payload


class ImageStream:
    def __init__(self, stream, content_type: str, idle_timeout: float):
        self.stream = stream
        self.content_type = content_type
        self.idle_timeout = idle_timeout

    async def chunks(self):
        while True:
            chunk = await self.stream.next_chunk(self.idle_timeout)
            if chunk is None:
                return
            yield chunk

    def cancel(self):
        self.stream.cancel_now()


def _image_type(header: str, url: str) -> str:
    if header.lower().startswith("image/"):
        return header
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed if guessed and guessed.startswith("image/") else "image/png"


def _client_result(result: dict) -> dict:
    """Queued (22) is an acceptance for the client; 21 stays only when a modal step is needed."""
    answer = dict(result)
    properties = result.get("properties") if isinstance(result.get("properties"), dict) else {}
    if result["code"] == 22 or (result["code"] == 21 and properties.get("status") == "SUCCESS"):
        answer["code"] = 1
    return answer


def _json_list(response):
    if response.status != 200:
        return None
    try:
        payload = ujson.loads(response.body)
    except ValueError:
        return None
    return [t for t in payload if isinstance(t, dict)] if isinstance(payload, list) else None
