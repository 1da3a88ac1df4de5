"""One relay call from start to bill: check, price, pre-charge, choose a channel, relay (retrying on
another channel while nothing has reached the client), settle and log.

The handler hands in a `sink` that writes to the client:
  sink.send(status, body, content_type)   a whole answer
  sink.begin_stream() / await sink.write(bytes) / sink.end()   an SSE answer (write raises ClientGone)
  sink.on_close(callback), sink.started, sink.gone
"""
import asyncio
import dataclasses
import logging
import time

import ujson

from models.logs import TYPE_ERROR
from services import metrics
from services.adaptors import adaptor_for
from services.channel_health import dead_key_reason, should_retry
from services.errors import RelayError, upstream_error
from services.pricing import PriceNotSet
from services.request_shape import check_chat, check_embeddings
from services.stream_relay import UpstreamFailed, relay_stream, transport_error
from services.upstream import NO_RESPONSE
from services.user_content import UserContent, web_image_urls
from services.usage import Usage

log = logging.getLogger("tollgate.relay")

# Counting tokens of a larger text takes long enough to stall other requests: it goes to a thread
# (tiktoken releases the GIL while it encodes).
INLINE_COUNT_BYTES = 32 * 1024

KINDS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}


@dataclasses.dataclass(slots=True)   # thousands may be open at once
class RelayCall:
    path: str
    kind: str
    raw: bytes
    body: dict
    model: str
    stream: bool
    wants_usage: bool
    caller: object
    request_id: str
    client_ip: str = ""
    started: float = dataclasses.field(default_factory=time.monotonic)
    prompt_estimate: int = 0     # the local count of the prompt, for answers whose upstream gives none
    image_sizes: dict = dataclasses.field(default_factory=dict)   # web image url → (width, height)
    web_images: dict = dataclasses.field(default_factory=dict)    # web image url → (mime, base64), once fetched

    @property
    def group(self) -> str:
        return self.caller.token.group or self.caller.user.group


@dataclasses.dataclass
class Outcome:
    channel: object
    usage: Usage
    first_event_ms: int = 0


def json_object(raw: bytes) -> dict:
    """A request body that must be a JSON object, or the 400 that says it is not."""
    try:
        body = ujson.loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RelayError(400, "The request body must be a JSON object.", "invalid_json", "invalid_request_error")
    return body


def parse_call(path: str, raw: bytes, caller, request_id: str, client_ip: str = "") -> RelayCall:
    """Read the request body once; a body that cannot be relayed is refused here, before any charge."""
    body = json_object(raw)
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RelayError(400, "The request must name a model.", "missing_model", "invalid_request_error", "model")
    kind = KINDS[path]
    if kind == "chat" and (not isinstance(body.get("messages"), list) or not body["messages"]):
        raise RelayError(400, "`messages` must be a non-empty list.", "invalid_messages",
                         "invalid_request_error", "messages")
    if kind == "chat":
        check_chat(body)
    if kind == "completions" and "prompt" not in body:
        raise RelayError(400, "`prompt` is required.", "missing_prompt", "invalid_request_error", "prompt")
    if kind == "embeddings" and not body.get("input"):
        raise RelayError(400, "`input` is required.", "missing_input", "invalid_request_error", "input")
    if kind == "embeddings":
        check_embeddings(body)
    stream = body.get("stream") is True and kind != "embeddings"
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise RelayError(400, "`stream_options` must be an object.", "invalid_stream_options",
                         "invalid_request_error", "stream_options")
    wants_usage = bool(options and options.get("include_usage")) if stream else False
    return RelayCall(path, kind, raw, body, model, stream, wants_usage, caller, request_id, client_ip)


class Relay:
    def __init__(self, settings, options, pricing, billing, routing, upstream, tokenizer, channels, logs):
        self.settings = settings
        self.options = options
        self.pricing = pricing
        self.billing = billing
        self.routing = routing
        self.upstream = upstream
        self.tokenizer = tokenizer
        self.channels = channels
        self.logs = logs
        self.user_content = UserContent(upstream, settings.max_file_download_mb * 1024 * 1024,
                                        settings.user_content_request_timeout, settings.user_content_allow_private)

    async def handle(self, call: RelayCall, sink):
        """Run the call to its end. Raises RelayError (nothing charged) when it cannot be served."""
        price = self.check_and_price(call)
        if call.kind == "chat":
            await self._read_web_images(call)
        prompt_tokens = call.prompt_estimate = await _off_loop(len(call.raw), self._prompt_tokens, call)
        charge = await self.billing.pre_charge(call.caller.token, call.caller.user,
                                               self._estimate(call, price, prompt_tokens))
        try:
            outcome = await self._attempts(call, sink)
        except BaseException as exc:
            await self.billing.refund(charge)
            if isinstance(exc, RelayError):
                await self._log_failure(call, exc)
            raise
        if outcome is None:   # the client left before anything was produced
            await self.billing.refund(charge)
            return
        await self._settle(call, price, charge, outcome, prompt_tokens)

    # Before the call --------------------------------------------------------------------------
    def check_and_price(self, call):
        """The call's price, after checking the key may use the model and some channel serves it."""
        token, group = call.caller.token, call.group
        if token.models and call.model not in token.models:
            raise RelayError(403, f"This API key may not use the model {call.model}.", "model_not_allowed",
                             "invalid_request_error", "model")
        if not call.caller.pinned_channel and not self.routing.serves(group, call.model):
            raise RelayError(404, f"The model `{call.model}` does not exist or you do not have access to it.",
                             "model_not_found", "invalid_request_error", "model")
        try:
            return self.pricing.price(call.model, group, token.billing_mode == "per_call")
        except PriceNotSet:
            raise RelayError(400, f"No price is set for the model {call.model}; an administrator must set "
                             "its ratio or price first.", "model_price_not_set", "invalid_request_error",
                             "model") from None

    async def _read_web_images(self, call):
        """The sizes of the web images, for the estimate. When every channel the call may go to sends
        images inline (Gemini), each is downloaded whole once, here, for both its size and the upload.
        (Most calls have no web images: they do not look at the routes.)"""
        if not web_image_urls(call.body["messages"]):
            return
        adaptor = self._inlining_adaptor(call)
        if adaptor is None:
            call.image_sizes = await self.user_content.image_sizes(call.body["messages"])
        else:
            await adaptor.prepare(call, self.user_content, call.image_sizes)

    def _inlining_adaptor(self, call):
        pinned = call.caller.pinned_channel
        channels = [self.routing.channels.get(pinned)] if pinned else self.routing.channels_for(call.group, call.model)
        adaptors = {adaptor_for(c.type) if c is not None else None for c in channels}
        if len(adaptors) != 1:
            return None
        adaptor = adaptors.pop()
        return adaptor if hasattr(adaptor, "prepare") else None

    def _prompt_tokens(self, call) -> int:
        count = self.tokenizer
        if hasattr(call, "count_prompt"):   # calls of other protocols count their own prompt
            return call.count_prompt(count)
        if call.kind == "chat":
            tokens = count.count_messages(call.model, call.body["messages"], call.image_sizes)
            tools = call.body.get("tools") or call.body.get("functions")
            if tools:
                tokens += count.count_text(call.model, ujson.dumps(tools))
            return tokens
        if call.kind == "completions":
            return count.count_input(call.model, call.body.get("prompt"))
        return count.count_input(call.model, call.body.get("input"))

    def _estimate(self, call, price, prompt_tokens) -> int:
        if price.per_call:
            return self.pricing.call_quota(price)
        if call.kind == "embeddings":
            return self.pricing.quota(price, prompt_tokens, 0)
        limit = call.body.get("max_completion_tokens") or call.body.get("max_tokens")
        if not isinstance(limit, int) or limit <= 0:
            limit = self.options["PreConsumedQuota"]
        return self.pricing.quota(price, prompt_tokens, limit)

    # The call -------------------------------------------------------------------------------
    async def _attempts(self, call, sink):
        pinned = call.caller.pinned_channel
        retries = 0 if pinned else self.options["RetryTimes"]
        tried, last_error = [], None
        for _ in range(retries + 1):
            channel = self.routing.pinned(pinned) if pinned else self.routing.pick(call.group, call.model, tried)
            if channel is None or sink.gone:
                break
            tried.append(channel.id)
            try:
                return await self._one(call, channel, sink)
            except UpstreamFailed as failure:
                last_error = failure.error
                metrics.upstream_error(channel.id, last_error.status)
                log.info("request %s: channel %s failed with %s: %s", call.request_id, channel.id,
                         last_error.status, last_error.message)
                await self._maybe_disable(channel, last_error)
                if not should_retry(last_error.status):
                    break
        if sink.gone:
            return None
        if last_error is not None:
            raise _for_client(last_error, call.request_id)
        raise RelayError(503, f"No channel is available for the model {call.model} in the group {call.group} "
                         "right now.", "no_available_channel")

    async def _one(self, call, channel, sink) -> Outcome:
        adaptor = adaptor_for(channel.type)
        if hasattr(adaptor, "prepare"):   # fetches what the upstream needs in the request itself
            await adaptor.prepare(call, self.user_content)
        url, headers, body = adaptor.build(channel, call)
        if call.stream:
            return await self._one_stream(call, channel, adaptor, sink, url, headers, body)
        response = await self.upstream.fetch(url, "POST", headers, body)
        if response.status == NO_RESPONSE:
            raise UpstreamFailed(transport_error(response.error))
        if response.status != 200:
            raise UpstreamFailed(upstream_error(response.status, response.body))
        try:
            payload = ujson.loads(response.body)
        except ValueError:
            raise UpstreamFailed(RelayError(502, "The upstream answered with invalid JSON.", "bad_upstream_json",
                                            "upstream_error")) from None
        usage = adaptor.usage(payload) or await self._count_usage(call, _response_text(payload))
        sink.send(200, adaptor.response_body(call, payload, response.body), "application/json")
        return Outcome(channel, usage)

    async def _one_stream(self, call, channel, adaptor, sink, url, headers, body) -> Outcome:
        stream = self.upstream.open_stream(url, "POST", headers, body)
        result = await relay_stream(stream, adaptor.stream_meter(call), sink, self.settings.streaming_timeout,
                                    self.settings.stream_buffer_kb * 1024, time.monotonic)
        if not result.client_gone:
            sink.end()
        elif not sink.started:
            return None
        meter = result.meter
        usage = meter.usage or await self._count_usage(call, meter.produced_text())
        return Outcome(channel, usage, result.first_event_ms)

    async def _count_usage(self, call, produced_text: str) -> Usage:
        """The fallback when the upstream reported no usage: count what it produced here (the prompt
        count made before the call fills in the prompt side when settling)."""
        count = self.tokenizer.count_text
        return Usage(0, await _off_loop(len(produced_text), count, call.model, produced_text))

    async def _maybe_disable(self, channel, error):
        if not self.options["AutomaticDisableChannelEnabled"] or not channel.auto_ban:
            return
        reason = dead_key_reason(error)
        if reason:
            await self.channels.disable_automatically(channel.id, reason)

    # After the call -------------------------------------------------------------------------
    async def _settle(self, call, price, charge, outcome, estimated_prompt):
        usage = outcome.usage
        if not usage.prompt_tokens:
            usage.prompt_tokens = estimated_prompt
        actual = self.pricing.quota(price, usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens,
                                    usage.cache_creation_tokens)
        charged, unpaid = await self.billing.settle(charge, actual)
        self.billing.record_channel(outcome.channel.id, charged)
        if self.options["LogConsumeEnabled"]:
            await self.logs.write_consumption(call, price, usage, charged, unpaid, outcome)

    async def _log_failure(self, call, error):
        if error.status >= 500 or error.type == "upstream_error":
            await self.logs.write(call.caller, TYPE_ERROR, f"{error.status} {error.message}",
                                  model_name=call.model, request_id=call.request_id)


async def _off_loop(size: int, function, *args):
    if size < INLINE_COUNT_BYTES:
        return function(*args)
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _for_client(error: RelayError, request_id: str) -> RelayError:
    """The last upstream error as the client sees it. An error about the channel's own key or account
    is not the client's: passing on a 401 would tell it that its own key is wrong (and the upstream's
    message may quote part of the channel's key)."""
    if dead_key_reason(error):
        return RelayError(502, f"The upstream refused the key or account of the channel it was sent to "
                          f"(request id: {request_id}).", "upstream_key_refused", "upstream_error")
    error.message = f"{error.message} (request id: {request_id})"
    return error


def _response_text(payload) -> str:
    parts = []
    for choice in (payload.get("choices") or []) if isinstance(payload, dict) else []:
        message = choice.get("message") or {}
        if isinstance(message.get("content"), str):
            parts.append(message["content"])
        if isinstance(choice.get("text"), str):
            parts.append(choice["text"])
    return "".join(parts)
