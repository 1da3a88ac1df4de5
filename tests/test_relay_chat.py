"""Chat completions relayed to a real local OpenAI-compatible upstream, billed exactly."""
import pytest
import ujson

from tests.upstreams.openai_mock import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY_WORDS

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


def cost(gateway, prompt, completion, model="gpt-4o-mini"):
    pricing = gateway.services.pricing
    return pricing.quota(pricing.price(model, "default"), prompt, completion)


@pytest.mark.gen_test
async def test_non_stream_chat_is_relayed_and_billed(gateway, upstream):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)

    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)

    assert response.status == 200
    assert response.json["choices"][0]["message"]["content"] == "".join(REPLY_WORDS)
    await gateway.settled()
    charged = cost(gateway, PROMPT_TOKENS, COMPLETION_TOKENS)
    assert await gateway.quota_of(user) == 1_000_000 - charged
    [entry] = await gateway.logs(user_id=user.id)
    assert (entry["quota"], entry["prompt_tokens"], entry["completion_tokens"]) == (
        charged, PROMPT_TOKENS, COMPLETION_TOKENS)
    assert entry["model_name"] == "gpt-4o-mini" and entry["is_stream"] is False


@pytest.mark.gen_test
async def test_stream_chat_is_relayed_event_by_event(gateway, upstream):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)
    chunks = []

    response = await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, "stream": True}, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    text = b"".join(chunks).decode()
    events = [e[len("data: "):] for e in text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    words = [ujson.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1]]
    assert words == REPLY_WORDS   # the usage chunk the client did not ask for is not passed on
    sent = upstream.requests[0][2]
    await gateway.settled()
    assert sent["stream_options"] == {"include_usage": True}
    assert await gateway.quota_of(user) == 1_000_000 - cost(gateway, PROMPT_TOKENS, COMPLETION_TOKENS)
