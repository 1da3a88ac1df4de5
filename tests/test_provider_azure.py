"""Azure OpenAI channels: deployment URLs, api-version and the api-key header, against a real local
server speaking Azure's paths; stream and non-stream, billed from the usage it reports."""
import pytest
import ujson

from tests.conftest import serve
from tests.upstreams.azure_mock import make_azure_app
from tests.upstreams.openai_mock import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY_WORDS, MockState

CHAT = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.fixture
def azure(io_loop):
    state = MockState()
    server, state.url = serve(io_loop, make_azure_app(state))
    yield state
    io_loop.run_sync(server.close_all_connections)
    server.stop()


def cost(gateway, model, prompt, completion):
    pricing = gateway.services.pricing
    return pricing.quota(pricing.price(model, "default"), prompt, completion)


async def setup(gateway, azure, **channel):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    await gateway.make_channel(azure.url, type=3, models="gpt-3.5-turbo,gpt-4o-mini,text-embedding-3-small",
                               **channel)
    return user, key


@pytest.mark.gen_test
async def test_chat_goes_to_the_deployment_without_dots_with_api_key(gateway, azure):
    user, key = await setup(gateway, azure, config={"api_version": "2024-06-01"})

    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)

    assert response.status == 200, response.body
    assert response.json["choices"][0]["message"]["content"] == "".join(REPLY_WORDS)
    assert azure.deployments == [("gpt-35-turbo", "2024-06-01")]
    path, headers, body = azure.requests[0]
    assert headers["Api-Key"] == "key-ok" and "Authorization" not in headers
    assert body["model"] == "gpt-3.5-turbo"
    await gateway.settled()
    assert await gateway.quota_of(user) == 1_000_000 - cost(gateway, "gpt-3.5-turbo", PROMPT_TOKENS,
                                                             COMPLETION_TOKENS)


@pytest.mark.gen_test
async def test_stream_uses_the_default_api_version_and_bills_usage(gateway, azure):
    user, key = await setup(gateway, azure, model_mapping={"gpt-4o-mini": "gpt-4.1-mini"})
    chunks = []

    response = await gateway.fetch("/v1/chat/completions", "POST",
                                   json={**CHAT, "model": "gpt-4o-mini", "stream": True}, key=key,
                                   streaming_callback=chunks.append)

    assert response.status == 200
    events = [e[len("data: "):] for e in b"".join(chunks).decode().strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    assert [ujson.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1]] == REPLY_WORDS
    assert azure.deployments == [("gpt-41-mini", gateway.services.settings.azure_api_version)]
    assert azure.requests[0][2]["stream_options"] == {"include_usage": True}
    await gateway.settled()
    assert await gateway.quota_of(user) == 1_000_000 - cost(gateway, "gpt-4o-mini", PROMPT_TOKENS,
                                                             COMPLETION_TOKENS)


@pytest.mark.gen_test
async def test_embeddings_and_one_api_other_field(gateway, azure):
    user, key = await setup(gateway, azure, config={"other": "2023-05-15"})

    response = await gateway.fetch("/v1/embeddings", "POST",
                                   json={"model": "text-embedding-3-small", "input": "hi"}, key=key)

    assert response.status == 200
    assert azure.deployments == [("text-embedding-3-small", "2023-05-15")]
    await gateway.settled()
    assert await gateway.quota_of(user) == 1_000_000 - cost(gateway, "text-embedding-3-small", PROMPT_TOKENS, 0)


@pytest.mark.gen_test
async def test_azure_key_error_is_one_openai_error_and_refunded(gateway, azure):
    user, key = await setup(gateway, azure, key="key-dead")

    response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)

    assert response.status in (401, 502)   # the channel's key is refused, not the client's
    assert set(response.json["error"]) == {"message", "type", "param", "code"}
    await gateway.settled()
    assert await gateway.quota_of(user) == 1_000_000
