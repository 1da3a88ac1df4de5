"""Channel choice: enabled channels only, highest priority first, weighted random inside a priority,
model mapping, and admin keys that pin a channel."""
import collections
import random

import pytest

from services.routing import RoutingTable
from tests.relay_support import CHAT, consume_log_entries


async def chat(gateway, key, **extra):
    return await gateway.fetch("/v1/chat/completions", "POST", json={**CHAT, **extra}, key=key)


@pytest.mark.gen_test
async def test_disabled_channels_are_never_chosen(gateway, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, key="key-manual-off", status=2)
    await gateway.make_channel(upstream.url, key="key-on")
    await gateway.make_channel(upstream.url, key="key-auto-off", status=3)

    for _ in range(10):
        assert (await chat(gateway, key)).status == 200
    await gateway.settled()

    assert upstream.keys_seen() == ["key-on"] * 10


@pytest.mark.gen_test
async def test_highest_priority_first_then_the_next_tier(gateway, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, key="key-low", priority=0, weight=1000)
    high = await gateway.make_channel(upstream.url, key="key-high", priority=10)

    for _ in range(10):
        assert (await chat(gateway, key)).status == 200
    assert upstream.keys_seen() == ["key-high"] * 10

    # The high tier fails: each request tries it first, then falls to the low tier.
    await gateway.services.channels.update(high.id, {"key": "key-500"})
    upstream.requests.clear()
    for _ in range(3):
        assert (await chat(gateway, key)).status == 200
    assert upstream.keys_seen() == ["key-500", "key-low"] * 3
    await gateway.settled()


@pytest.mark.gen_test
async def test_weighted_random_inside_a_priority(gateway, upstream):
    light = await gateway.make_channel(upstream.url, key="a", weight=0, priority=5)    # 0 + 10 smoothing
    heavy = await gateway.make_channel(upstream.url, key="b", weight=30, priority=5)   # 30 + 10
    low = await gateway.make_channel(upstream.url, key="c", weight=10_000, priority=1)
    table = RoutingTable(gateway.services.db, rng=random.Random(20240601))
    await table.reload()

    picks = collections.Counter(table.pick("default", "gpt-4o-mini").id for _ in range(4000))

    assert set(picks) == {light.id, heavy.id}           # the lower tier is never used while this one works
    assert 0.17 < picks[light.id] / 4000 < 0.23        # 10 / (10 + 40) = 0.2
    assert table.pick("default", "gpt-4o-mini", exclude=[light.id, heavy.id]).id == low.id
    assert table.pick("default", "gpt-4o-mini", exclude=[light.id, heavy.id, low.id]) is None
    assert table.pick("vip", "gpt-4o-mini") is None


@pytest.mark.gen_test
async def test_model_mapping_is_applied_upstream_and_the_log_keeps_the_requested_name(gateway, upstream):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    await gateway.make_channel(upstream.url, model_mapping={"gpt-4o-mini": "mock-small-2"})

    assert (await chat(gateway, key)).status == 200
    assert (await chat(gateway, key, stream=True)).status == 200
    await gateway.settled()

    assert [body["model"] for _, _, body in upstream.requests] == ["mock-small-2", "mock-small-2"]
    entries = await consume_log_entries(gateway, user)
    assert [e["model_name"] for e in entries] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert all(e["other"]["upstream_model_name"] == "mock-small-2" for e in entries)


@pytest.mark.gen_test
async def test_admin_key_may_pin_a_channel(gateway, upstream):
    admin = await gateway.make_user("boss", role=10)
    key = await gateway.make_token(admin)
    await gateway.make_channel(upstream.url, key="key-high", priority=10)
    low = await gateway.make_channel(upstream.url, key="key-low", priority=0)

    response = await chat(gateway, f"{key}-{low.id}")
    await gateway.settled()

    assert response.status == 200
    assert upstream.keys_seen() == ["key-low"]
    [entry] = await consume_log_entries(gateway, admin)
    assert entry["channel_id"] == low.id


@pytest.mark.gen_test
async def test_pinned_channel_is_not_retried(gateway, upstream):
    admin = await gateway.make_user("boss", role=10, quota=1_000_000)
    key = await gateway.make_token(admin)
    await gateway.make_channel(upstream.url, key="key-good")
    broken = await gateway.make_channel(upstream.url, key="key-500")

    response = await chat(gateway, f"{key}-{broken.id}")
    await gateway.settled()

    assert response.status == 500
    assert response.json["error"]["type"] == "server_error"
    assert upstream.keys_seen() == ["key-500"]
    assert await gateway.quota_of(admin) == 1_000_000
    assert await consume_log_entries(gateway, admin) == []


@pytest.mark.gen_test
async def test_pinning_is_refused_for_normal_users(gateway, upstream):
    user = await gateway.make_user(quota=1_000_000)
    key = await gateway.make_token(user)
    channel = await gateway.make_channel(upstream.url)

    response = await chat(gateway, f"{key}-{channel.id}")

    assert response.status == 403
    assert response.json["error"]["code"] == "channel_pin_forbidden"
    assert upstream.requests == []
    assert await gateway.quota_of(user) == 1_000_000


@pytest.mark.gen_test
async def test_pinning_a_missing_or_disabled_channel(gateway, upstream):
    admin = await gateway.make_user("boss", role=100, quota=1_000_000)
    key = await gateway.make_token(admin)
    await gateway.make_channel(upstream.url)
    off = await gateway.make_channel(upstream.url, key="key-off", status=2)

    missing = await chat(gateway, f"{key}-999")
    disabled = await chat(gateway, f"{key}-{off.id}")
    await gateway.settled()

    assert (missing.status, missing.json["error"]["code"]) == (404, "channel_not_found")
    assert (disabled.status, disabled.json["error"]["code"]) == (503, "channel_disabled")
    assert upstream.requests == []
    assert await gateway.quota_of(admin) == 1_000_000


@pytest.mark.gen_test
async def test_pinning_a_channel_number_too_large_for_the_database(gateway, upstream):
    admin = await gateway.make_user("boss", role=100, quota=1_000_000)
    key = await gateway.make_token(admin)
    await gateway.make_channel(upstream.url)

    response = await chat(gateway, f"{key}-{2 ** 64}")
    await gateway.settled()

    assert (response.status, response.json["error"]["code"]) == (404, "channel_not_found")
    assert upstream.requests == []
    assert await gateway.quota_of(admin) == 1_000_000
    assert (await chat(gateway, key)).status == 200      # the key itself still works
