"""The client's address: forwarded headers count only from trusted proxies, so a caller cannot claim an
address of its choosing to get past a key's allowed subnets."""
import types

import pytest
from tornado.httputil import HTTPHeaders

from conf.settings import SettingsError, load_settings
from services.client_address import ClientAddress
from tests.relay_support import CHAT


def seen(trusted: str, peer: str, **headers) -> tuple:
    request = types.SimpleNamespace(remote_ip=peer, protocol="http",
                                    headers=HTTPHeaders({k.replace("_", "-"): v for k, v in headers.items()}))
    ClientAddress(trusted).apply(request)
    return request.remote_ip, request.protocol


LOCAL = "127.0.0.0/8,::1"


def test_a_trusted_proxy_names_the_client():
    assert seen(LOCAL, "127.0.0.1", X_Real_Ip="203.0.113.9") == ("203.0.113.9", "http")
    assert seen(LOCAL, "::1", X_Forwarded_For="203.0.113.9", X_Forwarded_Proto="https") == ("203.0.113.9", "https")
    assert seen(LOCAL, "::ffff:127.0.0.1", X_Real_Ip="203.0.113.9")[0] == "203.0.113.9"   # IPv4 on a dual-stack socket


def test_the_client_is_the_last_hop_a_trusted_proxy_did_not_add():
    # nginx appends the address it saw to whatever the client sent: the left end is the client's own words.
    assert seen(LOCAL, "127.0.0.1", X_Forwarded_For="198.51.100.1, 203.0.113.9")[0] == "203.0.113.9"
    assert seen(LOCAL + ",10.0.0.0/8", "127.0.0.1", X_Forwarded_For="203.0.113.9, 10.1.2.3")[0] == "203.0.113.9"
    assert seen(LOCAL, "127.0.0.1", X_Forwarded_For="127.0.0.5, 127.0.0.9")[0] == "127.0.0.5"


def test_x_real_ip_wins_over_a_forwarded_chain_the_proxy_passed_on():
    assert seen(LOCAL, "127.0.0.1", X_Real_Ip="203.0.113.9", X_Forwarded_For="198.51.100.1")[0] == "203.0.113.9"


def test_anyone_else_cannot_claim_an_address_or_a_scheme():
    claims = {"X_Real_Ip": "10.1.2.3", "X_Forwarded_For": "10.1.2.3", "X_Forwarded_Proto": "https"}
    assert seen(LOCAL, "198.51.100.7", **claims) == ("198.51.100.7", "http")
    assert seen("", "127.0.0.1", **claims) == ("127.0.0.1", "http")           # nobody trusted


def test_what_is_not_an_address_is_ignored():
    assert seen(LOCAL, "127.0.0.1", X_Real_Ip="my laptop", X_Forwarded_Proto="gopher") == ("127.0.0.1", "http")


def test_trusted_proxies_must_be_addresses_or_ranges():
    assert load_settings(env={"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}).trusted_proxies
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings(env={"TRUSTED_PROXIES": "my proxy"})


async def _subnet_key(gateway, upstream):
    await gateway.make_channel(upstream.url)
    return await gateway.make_token(await gateway.make_user("alice"), subnet="203.0.113.0/24")


@pytest.mark.gen_test(timeout=30)
async def test_a_key_limited_to_a_subnet_takes_the_address_a_local_proxy_forwards(gateway, upstream):
    key = await _subnet_key(gateway, upstream)
    from_office = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key,
                                      headers={"X-Real-IP": "203.0.113.5"})
    assert from_office.status == 200
    elsewhere = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key,
                                    headers={"X-Forwarded-For": "203.0.113.5, 198.51.100.1"})
    assert elsewhere.status == 403 and elsewhere.json["error"]["code"] == "ip_not_allowed"
    await gateway.settled()


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": ""}])
@pytest.mark.gen_test(timeout=30)
async def test_without_trusted_proxies_a_claimed_address_gets_nowhere(gateway, upstream):
    key = await _subnet_key(gateway, upstream)
    claimed = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key,
                                  headers={"X-Real-IP": "203.0.113.5"})
    assert claimed.status == 403 and claimed.json["error"]["code"] == "ip_not_allowed"
