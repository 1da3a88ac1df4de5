"""Image generation, speech and transcription calls: priced per image, per character or per minute
(services/media_billing.py), pre-charged, relayed to a channel (another one on a failure that allows
it), then settled or refunded, and logged like every relay call."""
import asyncio
import logging
from decimal import Decimal

from tornado.httputil import parse_body_arguments

from services.adaptors import adaptor_for
from services.channel_health import should_retry
from services.errors import RelayError, upstream_error
from services.media_billing import (RATIO_IMAGE_PRICE, audio_seconds, duration_tokens, image_multiplier,
                                    image_request, reported_seconds, speech_request, transcript_text)
from services.pricing import Price
from services.relay import Outcome, RelayCall
from services.stream_relay import ClientGone, UpstreamFailed, transport_error
from services.upstream import NO_RESPONSE
from services.usage import Usage

log = logging.getLogger("tollgate.media")


def media_call(path, kind, raw, body, model, caller, request_id, client_ip) -> RelayCall:
    return RelayCall(path, kind, raw, body, model, False, False, caller, request_id, client_ip)


def parse_multipart(content_type: str, raw: bytes):
    """(fields, file bytes) of a multipart upload."""
    fields, files = {}, {}
    parse_body_arguments(content_type, raw, fields, files)
    values = {name: v[0].decode("utf-8", "replace") for name, v in fields.items() if v}
    upload = (files.get("file") or [None])[0]
    return values, upload["body"] if upload else b""


def replace_form_field(raw: bytes, content_type: str, name: str, value: str) -> bytes:
    """The multipart body with the value of the plain field `name` replaced; everything else (the
    upload included) is kept byte for byte. Unchanged when there is no such field."""
    boundary = _boundary(content_type)
    if not boundary:
        return raw
    delimiter = b"--" + boundary
    wanted = f'name="{name}"'.encode()
    position = raw.find(delimiter)
    while position != -1:
        header_start = position + len(delimiter) + 2           # past the delimiter's CRLF
        following = raw.find(b"\r\n" + delimiter, header_start)
        header_end = raw.find(b"\r\n\r\n", header_start)
        if following == -1 or header_end == -1:
            return raw
        headers = raw[header_start:header_end]
        if wanted in headers and b"filename=" not in headers:
            return raw[:header_end + 4] + value.encode() + raw[following:]
        position = following + 2
    return raw


def _boundary(content_type: str) -> bytes:
    for field in content_type.split(";")[1:]:
        key, _, value = field.strip().partition("=")
        if key.lower() == "boundary" and value:
            return value.strip('"').encode()
    return b""


class MediaRelay:
    def __init__(self, relay):
        self.relay = relay
        self.pricing = relay.pricing
        self.billing = relay.billing

    # Images -----------------------------------------------------------------------------------
    async def images(self, call, sink):
        model, n, size, quality = image_request(call.body)
        call.model = model
        price = self.relay.check_and_price(call)
        usd = Decimal(str(price.fixed_price if price.per_call else RATIO_IMAGE_PRICE * price.model_ratio))
        each = usd * Decimal(str(image_multiplier(model, size, quality)))
        paid = Price(0, 0, price.group_ratio, float(each * n))
        quota = self.pricing.call_quota(Price(0, 0, price.group_ratio, each * n))
        charge, (response, channel) = await self._paid(call, quota, lambda c: self._fetch(call, c))
        sink.send(200, response.body, response.headers.get("Content-Type", "application/json"))
        await self._settle(call, paid, charge, quota, Usage(), channel)

    # Speech -----------------------------------------------------------------------------------
    async def speech(self, call, sink):
        text = speech_request(call.body)
        price = self.relay.check_and_price(call)
        quota = self.pricing.quota(price, len(text), 0)
        charge, channel = await self._paid(call, quota, lambda c: self._stream_audio(call, c, sink))
        await self._settle(call, price, charge, quota, Usage(len(text), 0), channel)

    async def _stream_audio(self, call, channel, sink):
        url, headers, body = adaptor_for(channel.type).build(channel, call)
        stream = self.relay.upstream.open_stream(url, "POST", headers, body)
        idle = self.relay.settings.streaming_timeout
        sink.on_close(stream.cancel_now)
        try:
            await stream.wait_headers(idle)
        except asyncio.TimeoutError:
            stream.cancel_now()
            raise UpstreamFailed(RelayError(504, "The upstream sent nothing in time.", "upstream_timeout",
                                            "upstream_error")) from None
        if stream.status == NO_RESPONSE:
            raise UpstreamFailed(transport_error(stream.error))
        if stream.status != 200:
            raise UpstreamFailed(upstream_error(stream.status, await stream.read_all(idle)))
        sink.begin_audio(stream.headers.get("Content-Type", "audio/mpeg"))
        try:
            while (chunk := await stream.next_chunk(idle)) is not None:
                await sink.write(chunk)
        except (ClientGone, asyncio.TimeoutError):
            stream.cancel_now()   # the input was read already: the call is paid as asked
        sink.end()
        return channel

    # Transcriptions and translations ------------------------------------------------------------
    async def transcription(self, call, sink, response_format: str, upload: bytes):
        price = self.relay.check_and_price(call)
        seconds = await asyncio.get_running_loop().run_in_executor(None, audio_seconds, upload)
        tokens = duration_tokens(seconds) if seconds is not None else self.relay.options["PreConsumedQuota"]
        charge, (response, channel) = await self._paid(call, self.pricing.quota(price, tokens, 0),
                                                       lambda c: self._fetch(call, c))
        seconds = reported_seconds(response.body) or seconds
        if seconds is not None:
            tokens = duration_tokens(seconds)
        else:
            text = transcript_text(response.body, response_format)
            tokens = self.relay.tokenizer.count_text(call.model, text)
        sink.send(200, response.body, response.headers.get("Content-Type", "application/json"))
        await self._settle(call, price, charge, self.pricing.quota(price, tokens, 0), Usage(tokens, 0), channel)

    # Shared -----------------------------------------------------------------------------------
    async def _paid(self, call, amount, one):
        """Pre-charge `amount`, then run the attempts; the charge is refunded unless one succeeds."""
        charge = await self.billing.pre_charge(call.caller.token, call.caller.user, amount)
        try:
            return charge, await self._attempts(call, one)
        except BaseException:
            await self.billing.refund(charge)
            raise

    async def _fetch(self, call, channel):
        url, headers, body = adaptor_for(channel.type).build(channel, call)
        if call.kind == "transcription":     # multipart goes up as it came, boundary and all
            headers["Content-Type"], body = call.body["content_type"], call.raw
            mapped = (channel.model_mapping or {}).get(call.model)
            if mapped and mapped != call.model:   # only the model field changes: the upload is not re-encoded
                body = replace_form_field(body, call.body["content_type"], "model", mapped)
        response = await self.relay.upstream.fetch(url, "POST", headers, body)
        if response.status == NO_RESPONSE:
            raise UpstreamFailed(transport_error(response.error))
        if response.status not in (200, 201):
            raise UpstreamFailed(upstream_error(response.status, response.body))
        return response, channel

    async def _attempts(self, call, one):
        pinned = call.caller.pinned_channel
        routing, tried, last = self.relay.routing, [], None
        for _ in range((0 if pinned else self.relay.options["RetryTimes"]) + 1):
            channel = routing.pinned(pinned) if pinned else routing.pick(call.group, call.model, tried)
            if channel is None:
                break
            tried.append(channel.id)
            try:
                return await one(channel)
            except UpstreamFailed as failure:
                last = failure.error
                log.info("request %s: channel %s failed with %s", call.request_id, channel.id, last.status)
                if not should_retry(last.status):
                    break
        if last is not None:
            last.message = f"{last.message} (request id: {call.request_id})"
            raise last
        raise RelayError(503, f"No channel is available for the model {call.model} right now.",
                         "no_available_channel")

    async def _settle(self, call, price, charge, quota, usage, channel):
        charged, unpaid = await self.billing.settle(charge, quota)
        self.billing.record_channel(channel.id, charged)
        if self.relay.options["LogConsumeEnabled"]:
            await self.relay.logs.write_consumption(call, price, usage, charged, unpaid, Outcome(channel, usage))
