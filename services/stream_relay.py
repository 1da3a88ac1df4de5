"""Relaying one upstream SSE stream to the client, event by event.

The client's 200 and headers go out only when the upstream's first event is in, so an upstream that
fails before that is still a normal error (and can be retried on another channel). After that every
event is written and flushed as it arrives; a client that goes away stops the upstream transfer; an
upstream that fails or goes idle mid-way ends the stream with an SSE error event.
"""
import asyncio
import dataclasses
import logging

import ujson

from services.errors import RelayError, upstream_error
from services.sse import EventSplitter
from services.upstream import NO_RESPONSE

log = logging.getLogger("tollgate.relay")


class ClientGone(Exception):
    """The client closed its connection."""


class UpstreamFailed(Exception):
    """The upstream failed before anything reached the client: the call may be retried."""

    def __init__(self, error: RelayError):
        super().__init__(error.message)
        self.error = error


@dataclasses.dataclass(slots=True)
class StreamResult:
    meter: object
    first_event_ms: int = 0
    client_gone: bool = False
    broken: bool = False       # ended early: upstream failure, idle timeout or slow client


def transport_error(detail: str) -> RelayError:
    log.warning("upstream did not answer: %s", detail)
    return RelayError(502, "The upstream did not answer.", "upstream_unreachable", "upstream_error")


def error_event(error: RelayError) -> bytes:
    return b"data: " + ujson.dumps(error.body()).encode() + b"\n\n"


async def relay_stream(stream, meter, sink, idle_timeout: float, buffer_limit: int, clock) -> StreamResult:
    started_at = clock()
    sink.on_close(stream.cancel_now)
    try:
        await _check_start(stream, idle_timeout)
    except asyncio.TimeoutError:
        stream.cancel_now()
        raise UpstreamFailed(RelayError(504, "The upstream sent nothing in time.", "upstream_timeout",
                                        "upstream_error")) from None
    result = StreamResult(meter)
    if sink.gone:
        result.client_gone = True
        return result
    splitter = EventSplitter()
    try:
        while True:
            # Only `out` lives on while the next chunk is awaited, and only until it is written: thousands
            # of streams, each holding its last chunk and events while idle, would add up.
            out, ended = _passed_on(await stream.next_chunk(idle_timeout), splitter, meter)
            if out:
                if not sink.started:
                    result.first_event_ms = int((clock() - started_at) * 1000)
                    sink.begin_stream()
                await sink.write(out)
                del out
            if ended:
                break
            if stream.buffered > buffer_limit:
                await _end_early(stream, sink, result, RelayError(
                    503, "The client reads too slowly; the stream was ended.", "client_too_slow"))
                break
    except asyncio.TimeoutError:
        await _end_early(stream, sink, result, RelayError(
            504, "The upstream stopped sending.", "upstream_timeout", "upstream_error"))
    except ClientGone:
        stream.cancel_now()
    result.client_gone = result.client_gone or sink.gone
    if not result.client_gone and not result.broken:
        await _after_end(stream, sink, result)
    return result


def _passed_on(chunk, splitter, meter) -> tuple:
    """What to send the client for `chunk` (None when the stream ended), and whether the stream ended."""
    events = splitter.feed(chunk) if chunk is not None else splitter.rest()
    outputs = list(map(meter.on_event, events))
    if chunk is None and hasattr(meter, "on_end"):   # meters that close their own protocol's stream
        outputs.append(meter.on_end())
    return b"".join(e + b"\n\n" for e in outputs if e is not None), chunk is None


async def _check_start(stream, idle_timeout):
    """Raise UpstreamFailed unless the upstream answered 200 with an event stream."""
    await stream.wait_headers(idle_timeout)
    if stream.cancelled:
        return  # the client went away while waiting
    if stream.status == NO_RESPONSE:
        raise UpstreamFailed(transport_error(stream.error))
    if stream.status != 200:
        body = await stream.read_all(idle_timeout)
        raise UpstreamFailed(upstream_error(stream.status, body))
    content_type = stream.headers.get("Content-Type", "")
    if "text/event-stream" not in content_type:
        # A stream request answered with JSON: some upstreams report errors this way, with status 200.
        body = await stream.read_all(idle_timeout)
        error = upstream_error(502, body)
        if error.code == "bad_response_status_code":   # no error in it: not a stream at all
            error = RelayError(502, "The upstream answered a stream request with "
                               f"{content_type or 'no content type'} instead of an event stream.",
                               "not_an_event_stream", "upstream_error")
        raise UpstreamFailed(error)


async def _after_end(stream, sink, result):
    """The upstream closed the stream: a transfer failure mid-way becomes an error event."""
    if stream.status == NO_RESPONSE and stream.error:
        if not sink.started:
            raise UpstreamFailed(transport_error(stream.error))
        log.warning("upstream stream broke: %s", stream.error)
        await _end_early(stream, sink, result, RelayError(
            502, "The upstream connection broke mid-stream.", "upstream_stream_broken", "upstream_error"))
        return
    if not sink.started:
        raise UpstreamFailed(RelayError(502, "The upstream sent an empty stream.", "empty_stream",
                                        "upstream_error"))


async def _end_early(stream, sink, result, error: RelayError):
    stream.cancel_now()
    result.broken = True
    if not sink.started:
        raise UpstreamFailed(error)
    try:
        # Meters of other protocols word the error event as their clients expect it.
        own = getattr(result.meter, "error_event", None)
        await sink.write(own(error) + b"\n\n" if own else error_event(error))
    except ClientGone:
        result.client_gone = True
