"""Several nodes on one MongoDB and one Redis (a real redis-server): changes reach every node at once,
tokens are cached in Redis, and with Redis down requests keep working from MongoDB."""
import asyncio

import pytest

from handlers import make_app
from services.runtime import build_services
from tests.client import GatewayClient
from tests.conftest import serve

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def settings_overrides(redis_url):
    return {"redis_conn_string": redis_url, "token_cache_seconds": 3600, "global_api_rate_limit": 3}


@pytest.fixture
def second_node(io_loop, gateway, mongo_uri):
    """Another node on the same database and Redis, with its own caches."""
    settings = gateway.services.settings
    services = io_loop.run_sync(lambda: build_services(settings, mongo_uri))
    services.changes.start()
    server, url = serve(io_loop, make_app(services))
    io_loop.run_sync(services.changes.listening.wait)
    yield GatewayClient(url, services)
    server.stop()
    io_loop.run_sync(services.close)


def signal_after(node, kind):
    """An event set once `node` has handled a change notice of `kind` (after its own handlers)."""
    handled = asyncio.Event()
    node.services.changes.on(kind, lambda _: handled.set())
    return handled


@pytest.mark.gen_test
async def test_a_new_channel_reaches_the_other_node_at_once(gateway, second_node, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    assert (await second_node.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 404
    reloaded = signal_after(second_node, "channels")

    await gateway.make_channel(upstream.url)
    await reloaded.wait()

    assert (await second_node.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)).status == 200


@pytest.mark.gen_test
async def test_a_disabled_token_is_refused_by_the_other_node_at_once(gateway, second_node, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url)
    assert (await second_node.fetch("/v1/models", key=key)).status == 200    # now cached there for an hour
    token_id = (await gateway.services.tokens.page(user.id, "", 1, 10))[0][0]["id"]
    forgotten = signal_after(second_node, "token")

    await gateway.services.tokens.update(user.id, token_id, {"status": 2}, status_only=True)
    await forgotten.wait()

    response = await second_node.fetch("/v1/models", key=key)
    assert response.status == 401 and response.json["error"]["code"] == "token_disabled"


@pytest.mark.gen_test
async def test_tokens_are_shared_through_redis(gateway, second_node):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    assert (await gateway.fetch("/v1/models", key=key)).status == 200
    key_hash = gateway.services.keyring.hash(key.removeprefix("sk-"))
    assert await gateway.services.redis.exists(f"tollgate:token:{key_hash}") == 1


@pytest.mark.gen_test
async def test_rate_limit_counts_are_shared_by_the_nodes(gateway, second_node):
    redis = gateway.services.redis
    for name in await redis.keys("tollgate:rl:*"):     # counts left by earlier tests
        await redis.delete(name)
    codes = [(await node.fetch("/api/status")).status for node in (gateway, second_node, gateway, second_node)]
    assert codes == [200, 200, 200, 429]       # a limit of 3 per address, counted across both nodes
