"""Run-time options over /api (root only): listed without secrets, set one at a time, typed and
validated, and in force at once."""
import pytest
import ujson

from tests.api_support import admin, ok, refused, session

gen_test = pytest.mark.gen_test(timeout=60)


def as_dict(items):
    return {item["key"]: item["value"] for item in items}


@gen_test
async def test_root_lists_options_without_secrets(gateway):
    root = await gateway.root()
    await gateway.services.options.set("Notice", "maintenance at noon")

    options = as_dict(ok(await gateway.fetch("/api/option/", cookie=root)))

    assert options["Notice"] == "maintenance at noon"
    assert options["QuotaPerUnit"] == "500000" and options["RegisterEnabled"] == "true"
    assert ujson.loads(options["ModelRatio"])["gpt-4o-mini"] > 0
    assert not [k for k in options if k.endswith(("Token", "Secret", "Key"))]


@gen_test
async def test_options_are_for_root_only(gateway):
    _, admin_cookie = await admin(gateway)
    _, user_cookie = await session(gateway, "plain")
    for cookie in (admin_cookie, user_cookie):
        refused(await gateway.fetch("/api/option/", cookie=cookie), 403)
        refused(await gateway.fetch("/api/option/", "PUT", json={"key": "Notice", "value": "hi"}, cookie=cookie), 403)
    refused(await gateway.fetch("/api/option/"), 401)
    assert gateway.services.options["Notice"] == ""


@gen_test
async def test_setting_an_option_takes_effect_at_once_and_is_stored(gateway):
    root = await gateway.root()
    ok(await gateway.fetch("/api/option/", "PUT", json={"key": "SystemName", "value": "Gate 2"}, cookie=root))
    ok(await gateway.fetch("/api/option/", "PUT", json={"key": "QuotaForInviter", "value": 1234}, cookie=root))
    ok(await gateway.fetch("/api/option/", "PUT", json={"key": "RegisterEnabled", "value": False}, cookie=root))

    assert ok(await gateway.fetch("/api/status"))["system_name"] == "Gate 2"
    assert gateway.services.options["QuotaForInviter"] == 1234
    assert gateway.services.options["RegisterEnabled"] is False
    stored = await gateway.services.db.options.all()
    assert (stored["SystemName"], stored["QuotaForInviter"], stored["RegisterEnabled"]) == ("Gate 2", "1234", "false")


@gen_test
async def test_a_new_model_ratio_prices_the_next_request(gateway):
    root = await gateway.root()
    pricing = gateway.services.pricing
    before = pricing.price("gpt-4o-mini", "default")
    table = {**gateway.services.options["ModelRatio"], "gpt-4o-mini": 2, "brand-new-model": 3}

    ok(await gateway.fetch("/api/option/", "PUT", json={"key": "ModelRatio", "value": ujson.dumps(table)},
                           cookie=root))

    assert before.model_ratio != 2
    assert pricing.price("gpt-4o-mini", "default").model_ratio == 2
    assert pricing.price("brand-new-model", "default").model_ratio == 3
    assert pricing.quota(pricing.price("brand-new-model", "default"), 100, 0) == 300


@gen_test
@pytest.mark.parametrize("body,words", [
    ({"key": "ModelRatio", "value": "{not json"}, "ModelRatio"),
    ({"key": "ModelRatio", "value": '{"gpt-4o": -1}'}, "gpt-4o"),
    ({"key": "ModelRatio", "value": '{"gpt-4o": NaN}'}, "gpt-4o"),
    ({"key": "CompletionRatio", "value": '{"gpt-4o": 1e999}'}, "gpt-4o"),
    ({"key": "DefaultModelRatio", "value": "nan"}, "number"),
    ({"key": "ChannelDisableThreshold", "value": "inf"}, "number"),
    ({"key": "GroupRatio", "value": "[1, 2]"}, "JSON object"),
    ({"key": "UserUsableGroups", "value": '{"vip": 3}'}, "UserUsableGroups"),
    ({"key": "QuotaForInvitee", "value": "-5"}, "negative"),
    ({"key": "RegisterEnabled", "value": "maybe"}, "true or false"),
    ({"key": "NoSuchOption", "value": "1"}, "unknown option"),
    ({"key": "Notice"}, "{key, value}"),
    ({"value": "1"}, "{key, value}"),
])
async def test_bad_values_are_refused_and_the_old_value_kept(gateway, body, words):
    root = await gateway.root()
    options = gateway.services.options
    before = options.raw_items()

    refused(await gateway.fetch("/api/option/", "PUT", json=body, cookie=root), 400, words)

    assert options.raw_items() == before
    await options.refresh()
    assert options.raw_items() == before
