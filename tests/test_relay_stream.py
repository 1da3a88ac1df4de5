"""Streams: events pass through as they arrive; a client that hangs up, an upstream that drops or goes
quiet each end the stream cleanly and are billed for what was produced."""
import asyncio

import pytest

from services.usage import ProducedText
from tests.relay_support import CHAT, RawStream, chat_prompt_tokens, consume_log_entries, set_prices, sse_data
from tests.upstreams.openai_mock import REPLY_WORDS

STREAM = {**CHAT, "stream": True}


async def setup(gateway, upstream, channel_key):
    """Model ratio 2, completion ratio 3, group ratio 1; a user and a limited key with 100 000 each."""
    await set_prices(gateway, model_ratio={"gpt-4o-mini": 2}, completion_ratio={"gpt-4o-mini": 3},
                     group_ratio={"default": 1})
    user = await gateway.make_user(quota=100_000)
    key = await gateway.make_token(user, remain_quota=100_000)
    await gateway.make_channel(upstream.url, key=channel_key)
    return user, key


def cost_of_produced(gateway, text):
    """What a stream that produced `text` costs: the prompt as counted here plus the text, by tiktoken."""
    encoding = gateway.services.tokenizer.encoding_for("gpt-4o-mini")
    prompt = chat_prompt_tokens(encoding, CHAT["messages"])
    completion = len(encoding.encode_ordinary(text))
    return prompt, completion, 2 * (prompt + 3 * completion)


async def assert_billed_for(gateway, user, text):
    prompt, completion, quota = cost_of_produced(gateway, text)
    assert await gateway.quota_of(user) == 100_000 - quota
    [token] = (await gateway.services.db.tokens.page(user.id, "", 0, 10))[0]
    assert (token.remain_quota, token.used_quota) == (100_000 - quota, quota)
    [entry] = await consume_log_entries(gateway, user)
    assert (entry["prompt_tokens"], entry["completion_tokens"], entry["quota"]) == (prompt, completion, quota)
    assert entry["is_stream"] is True


@pytest.mark.gen_test(timeout=20)
async def test_first_event_reaches_the_client_while_the_upstream_is_still_sending(gateway, upstream):
    await setup(gateway, upstream, "key-hold")
    received, first_event = [], asyncio.Event()

    def on_chunk(chunk):
        received.append(chunk)
        if b"\n\n" in b"".join(received):
            first_event.set()

    call = asyncio.ensure_future(gateway.fetch("/v1/chat/completions", "POST", json=STREAM,
                                               key=await gateway.make_token(await gateway.make_user("bob")),
                                               streaming_callback=on_chunk))
    await first_event.wait()

    assert upstream.held.is_set() and upstream.completed == 0   # the upstream has not finished
    assert sse_data(b"".join(received))[0]["choices"][0]["delta"]["content"] == "Hello"
    upstream.release.set()
    response = await call
    assert response.status == 200
    events = sse_data(b"".join(received))
    assert [e["choices"][0]["delta"]["content"] for e in events[:-1]] == REPLY_WORDS
    assert events[-1] == "[DONE]" and upstream.completed == 1
    await gateway.settled()


def _relay_frames():
    """The frames of the stream relays running now, found down each task's chain of awaits."""
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        while coro is not None and hasattr(coro, "cr_frame"):
            if coro.cr_code.co_name == "relay_stream":
                yield coro.cr_frame
            coro = coro.cr_await


@pytest.mark.gen_test(timeout=20)
async def test_a_stream_waiting_for_its_next_chunk_holds_no_data_of_the_last(gateway, upstream):
    # Thousands of open streams each keeping their last chunk, its events and what was written of them
    # cost tens of megabytes; while waiting, a relay keeps only its state.
    await setup(gateway, upstream, "key-hold")
    first_event = asyncio.Event()
    call = asyncio.ensure_future(gateway.fetch("/v1/chat/completions", "POST", json=STREAM,
                                               key=await gateway.make_token(await gateway.make_user("bob")),
                                               streaming_callback=lambda chunk: first_event.set()))
    await first_event.wait()

    [frame] = list(_relay_frames())
    held = {name: value for name, value in frame.f_locals.items() if isinstance(value, (bytes, list))}
    assert held == {}
    assert frame.f_locals["splitter"]._pending == b""
    upstream.release.set()
    assert (await call).status == 200
    await gateway.settled()


@pytest.mark.gen_test(timeout=20)
async def test_client_hang_up_stops_the_upstream_and_pays_for_what_was_produced(gateway, upstream):
    user, key = await setup(gateway, upstream, "key-hold")
    client = RawStream(gateway, "/v1/chat/completions", STREAM, key)
    await client.open()
    await client.read_until(b"\n\n")
    assert b" 200 " in client.head.split(b"\r\n")[0]

    client.close()
    await upstream.closed_early.wait()   # the gateway dropped its upstream connection
    await gateway.settled()

    assert upstream.completed == 0
    await assert_billed_for(gateway, user, "Hello")
    upstream.release.set()


@pytest.mark.gen_test(timeout=20)
async def test_upstream_dropping_mid_stream_ends_with_an_error_event(gateway, upstream):
    user, key = await setup(gateway, upstream, "key-drop")
    chunks, first_event = [], asyncio.Event()

    def on_chunk(chunk):
        chunks.append(chunk)
        first_event.set()

    call = asyncio.ensure_future(gateway.fetch("/v1/chat/completions", "POST", json=STREAM, key=key,
                                               streaming_callback=on_chunk))
    await first_event.wait()    # the first event is out: the drop comes mid-stream
    upstream.release.set()
    response = await call
    await gateway.settled()

    assert response.status == 200
    events = sse_data(b"".join(chunks))
    assert events[0]["choices"][0]["delta"]["content"] == "Hello"
    assert len(events) == 2 and "[DONE]" not in events
    error = events[1]["error"]
    assert error["code"] == "upstream_stream_broken" and error["type"] == "upstream_error"
    assert "broke" in error["message"]
    await assert_billed_for(gateway, user, "Hello")


@pytest.mark.gen_test(timeout=20)
@pytest.mark.parametrize("settings_overrides", [{"streaming_timeout": 1}])
async def test_idle_upstream_stream_is_ended_by_the_streaming_timeout(gateway, upstream):
    user, key = await setup(gateway, upstream, "key-hold")
    chunks = []

    response = await gateway.fetch("/v1/chat/completions", "POST", json=STREAM, key=key,
                                   streaming_callback=chunks.append)
    await gateway.settled()

    assert response.status == 200
    events = sse_data(b"".join(chunks))
    assert events[0]["choices"][0]["delta"]["content"] == "Hello"
    assert len(events) == 2 and events[1]["error"]["code"] == "upstream_timeout"
    await upstream.closed_early.wait()   # the stalled upstream call was dropped
    assert upstream.completed == 0
    await assert_billed_for(gateway, user, "Hello")
    upstream.release.set()


@pytest.mark.gen_test
async def test_usage_chunk_is_passed_on_when_the_client_asks_for_it(gateway, upstream):
    user, key = await setup(gateway, upstream, "key-ok")
    chunks = []

    response = await gateway.fetch("/v1/chat/completions", "POST", key=key, streaming_callback=chunks.append,
                                   json={**STREAM, "stream_options": {"include_usage": True}})
    await gateway.settled()

    assert response.status == 200
    events = sse_data(b"".join(chunks))
    assert events[-2]["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert await gateway.quota_of(user) == 100_000 - 2 * (11 + 3 * 7)


def test_the_produced_text_of_a_long_stream_is_kept_whole_in_few_strings():
    pieces = [f" word{i}" * (1 + i % 7) for i in range(5000)]
    most = len("".join(pieces)).bit_length()     # strings kept, at most: not one per piece
    text = ProducedText()
    text.extend(pieces[:500])
    for piece in pieces[500:]:
        text.append(piece)
        assert len(text._parts) <= most
    assert str(text) == "".join(pieces)
