"""Keys stay secret: an upstream that quotes its key does not get it into answers, channel reasons or log
lines; secrets in query strings are scrubbed from the access log; keys are stored only hashed."""
import logging

import pytest

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
CHANNEL_KEY = "sk-echo" + "Q" * 40


@pytest.mark.gen_test
async def test_a_key_quoted_by_the_upstream_goes_nowhere(gateway, upstream, caplog):
    await gateway.services.options.set("AutomaticDisableChannelEnabled", "true")
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    channel = await gateway.make_channel(upstream.url, key=CHANNEL_KEY)
    with caplog.at_level(logging.DEBUG, logger="tollgate"):   # the server keeps pymongo's own at WARNING
        response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)
    assert response.status == 502
    assert CHANNEL_KEY not in response.body.decode()
    stored = await gateway.services.db.channels.get(channel.id)
    assert stored.status == 3 and "sk-ec***" in stored.status_reason and CHANNEL_KEY not in stored.status_reason
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tollgate")]
    assert ours and not [line for line in ours if CHANNEL_KEY in line or key.removeprefix("sk-") in line]


@pytest.mark.gen_test
async def test_keys_in_query_strings_are_scrubbed_from_the_access_log(gateway, caplog):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    with caplog.at_level(logging.INFO, logger="tollgate.access"):
        await gateway.fetch(f"/api/log/token?key={key}")
    lines = [r.getMessage() for r in caplog.records if r.name == "tollgate.access"]
    assert any("/api/log/token?key=***" in line for line in lines)
    assert not any(key in line for line in lines)


@pytest.mark.gen_test
async def test_token_keys_are_stored_only_as_a_hash_and_an_encrypted_copy(gateway):
    user = await gateway.make_user()
    key = await gateway.make_token(user)
    raw = key.removeprefix("sk-")
    [doc] = await gateway.services.db.tokens.collection.find({"user_id": user.id}).to_list(length=None)
    assert raw not in str(doc)
    assert doc["key_hash"] == gateway.services.keyring.hash(raw)
