"""Upstream failures: retry on another channel while nothing reached the client, the RetryTimes option,
automatic disabling of channels whose key is dead, and 503 when no channel is left."""
import pytest

from tests.relay_support import CHAT, consume_log_entries, refused_url, sse_data
from tests.upstreams.openai_mock import REPLY_WORDS


async def chat(gateway, key, **extra):
    return await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, **extra}, key=key)


async def stream_chat(gateway, key):
    chunks = []
    response = await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, "stream": True}, key=key,
                                   streaming_callback=chunks.append)
    return response, sse_data(b"".join(chunks))


async def user_and_key(gateway):
    user = await gateway.make_user(quota=1_000_000)
    return user, await gateway.make_token(user)


async def failing_first(gateway, upstream, failure):
    """A failing channel in the top tier and a good one below it."""
    if failure == "refused":
        await gateway.make_channel(refused_url(), key="key-nowhere", priority=10)
    else:
        await gateway.make_channel(upstream.url, key=failure, priority=10)
    return await gateway.make_channel(upstream.url, key="key-good", priority=0)


@pytest.mark.gen_test
@pytest.mark.parametrize("failure", ["key-500", "key-429", "refused"])
async def test_failure_is_retried_on_another_channel(gateway, upstream, failure):
    user, key = await user_and_key(gateway)
    good = await failing_first(gateway, upstream, failure)

    response = await chat(gateway, key)
    await gateway.settled()

    assert response.status == 200
    assert response.json["choices"][0]["message"]["content"] == "".join(REPLY_WORDS)
    assert upstream.keys_seen() == ([] if failure == "refused" else [failure]) + ["key-good"]
    [entry] = await consume_log_entries(gateway, user)
    assert entry["channel_id"] == good.id


@pytest.mark.gen_test
@pytest.mark.parametrize("failure", ["key-500", "key-429", "refused", "key-jsonstream", "key-empty"])
async def test_failed_stream_attempt_sends_nothing_to_the_client(gateway, upstream, failure):
    user, key = await user_and_key(gateway)
    await failing_first(gateway, upstream, failure)

    response, events = await stream_chat(gateway, key)
    await gateway.settled()

    assert response.status == 200
    assert [e["choices"][0]["delta"]["content"] for e in events[:-1]] == REPLY_WORDS
    assert events[-1] == "[DONE]"
    assert upstream.keys_seen()[-1] == "key-good"
    assert len(await consume_log_entries(gateway, user)) == 1


@pytest.mark.gen_test
@pytest.mark.parametrize("retry_times, attempts", [(None, 4), ("1", 2), ("0", 1), ("6", 6)])
async def test_retry_count_follows_the_option(gateway, upstream, retry_times, attempts):
    if retry_times is not None:
        await gateway.services.options.set("RetryTimes", retry_times)
    user, key = await user_and_key(gateway)
    for _ in range(6):
        await gateway.make_channel(upstream.url, key="key-500")

    response = await chat(gateway, key)
    await gateway.settled()

    assert response.status == 500
    error = response.json["error"]
    assert error["type"] == "server_error" and "request id" in error["message"]
    assert len(upstream.requests) == attempts
    assert await gateway.quota_of(user) == 1_000_000
    assert await consume_log_entries(gateway, user) == []


DEAD_KEYS = {
    "key-dead": "Incorrect API key",
    "key-deactivated": "deactivated account",
    "key-broke": "exceeded your current quota",
}


async def channel_state(gateway, channel_id):
    channel = await gateway.services.db.channels.get(channel_id)
    return channel.status, channel.status_reason


@pytest.mark.gen_test
@pytest.mark.parametrize("dead_key", sorted(DEAD_KEYS))
async def test_dead_key_disables_the_channel_when_the_option_is_on(gateway, upstream, dead_key):
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    user, key = await user_and_key(gateway)
    dead = await gateway.make_channel(upstream.url, key=dead_key, priority=10)
    good = await gateway.make_channel(upstream.url, key="key-good", priority=0)

    first = await chat(gateway, key)
    second = await chat(gateway, key)
    await gateway.settled()

    assert (first.status, second.status) == (200, 200)
    status, reason = await channel_state(gateway, dead.id)
    assert status == 3 and DEAD_KEYS[dead_key] in reason
    assert upstream.keys_seen() == [dead_key, "key-good", "key-good"]   # out of rotation at once
    abilities = await gateway.services.db.abilities.enabled()
    assert {a["channel_id"] for a in abilities} == {good.id}


@pytest.mark.gen_test
@pytest.mark.parametrize("option, auto_ban", [("false", True), ("true", False)])
async def test_dead_key_keeps_the_channel_when_disabling_is_not_allowed(gateway, upstream, option, auto_ban):
    await gateway.services.options.set("AutomaticDisableChannelEnabled", option)
    user, key = await user_and_key(gateway)
    dead = await gateway.make_channel(upstream.url, key="key-dead", priority=10, auto_ban=auto_ban)
    await gateway.make_channel(upstream.url, key="key-good", priority=0)

    assert (await chat(gateway, key)).status == 200
    assert (await chat(gateway, key)).status == 200
    await gateway.settled()

    assert await channel_state(gateway, dead.id) == (1, "")
    assert upstream.keys_seen() == ["key-dead", "key-good"] * 2


@pytest.mark.gen_test
@pytest.mark.parametrize("failure", ["key-500", "key-429"])
async def test_passing_failures_never_disable_a_channel(gateway, upstream, failure):
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    user, key = await user_and_key(gateway)
    channel = await gateway.make_channel(upstream.url, key=failure)

    response = await chat(gateway, key)
    await gateway.settled()

    assert response.status == int(failure[4:])
    assert await channel_state(gateway, channel.id) == (1, "")


@pytest.mark.gen_test
async def test_dead_key_error_is_not_passed_on_as_the_clients_own(gateway, upstream):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-dead")

    response = await chat(gateway, key)
    await gateway.settled()

    # The client's key is fine: the channel's was refused, which is the gateway's problem.
    assert response.status == 502
    error = response.json["error"]
    assert error["code"] == "upstream_key_refused" and error["type"] == "upstream_error"
    assert "key-dead" not in response.body.decode()
    assert await gateway.quota_of(user) == 1_000_000


@pytest.mark.gen_test
async def test_no_channel_left_is_503(gateway, upstream):
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-off", status=2)
    await gateway.make_channel(upstream.url, key="key-dead")

    await chat(gateway, key)           # disables the only enabled channel
    response = await chat(gateway, key)
    await gateway.settled()

    assert response.status == 503
    assert response.json["error"]["code"] == "no_available_channel"
    assert set(response.json["error"]) == {"message", "type", "param", "code"}
    assert upstream.keys_seen() == ["key-dead"]
    assert await gateway.quota_of(user) == 1_000_000
    assert await consume_log_entries(gateway, user) == []
    models = await gateway.fetch("/v1/models", key=key)
    assert models.json["data"] == []     # nothing left to serve the model


@pytest.mark.gen_test
async def test_request_errors_are_not_retried(gateway, upstream):
    user, key = await user_and_key(gateway)
    await gateway.make_channel(upstream.url, key="key-400", priority=10)
    await gateway.make_channel(upstream.url, key="key-good", priority=0)

    response = await chat(gateway, key)
    await gateway.settled()

    assert response.status == 400
    assert response.json["error"]["code"] == "context_length_exceeded"
    assert upstream.keys_seen() == ["key-400"]
    assert await gateway.quota_of(user) == 1_000_000
