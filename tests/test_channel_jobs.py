"""Channel upkeep run by the job-lease holder: test all, refresh balances, and re-test automatically
disabled channels at their own interval (never one an administrator disabled by hand)."""
import pytest

from models.channels import STATUS_AUTO_DISABLED, STATUS_ENABLED, STATUS_MANUALLY_DISABLED
from services.channel_jobs import ChannelJobs


def jobs(gateway, now):
    services = gateway.services
    return ChannelJobs(services.channel_tests, services.balances, services.channels, services.routing,
                       pause_seconds=0, clock=lambda: now)


async def status_of(gateway, channel):
    return (await gateway.services.db.channels.get(channel.id)).status


@pytest.mark.gen_test(timeout=60)
async def test_an_auto_disabled_channel_is_retested_at_its_interval_and_enabled_when_it_passes(gateway, upstream):
    healed = await gateway.make_channel(upstream.url, key="key-ok", name="healed", auto_enable_interval=60)
    still_dead = await gateway.make_channel(upstream.url, key="key-dead", name="dead", auto_enable_interval=60)
    by_hand = await gateway.make_channel(upstream.url, key="key-ok", name="by hand", auto_enable_interval=60)
    for channel in (healed, still_dead):
        await gateway.services.channels.disable_automatically(channel.id, "status 401: test")
    await gateway.services.channels.update(by_hand.id, {"status": STATUS_MANUALLY_DISABLED})
    tested_at = (await gateway.services.db.channels.get(healed.id)).test_time

    await jobs(gateway, tested_at + 30).retest_auto_disabled()         # not due yet
    assert len(upstream.requests) == 0

    await jobs(gateway, tested_at + 61).retest_auto_disabled()
    assert await status_of(gateway, healed) == STATUS_ENABLED
    assert await status_of(gateway, still_dead) == STATUS_AUTO_DISABLED
    assert await status_of(gateway, by_hand) == STATUS_MANUALLY_DISABLED
    assert sorted(upstream.keys_seen()) == ["key-dead", "key-ok"]      # the hand-disabled one was not called
    assert gateway.services.routing.pick("default", "gpt-4o-mini").id == healed.id


@pytest.mark.gen_test(timeout=60)
async def test_test_all_and_balances_update_every_channel_in_upkeep(gateway, upstream):
    first = await gateway.make_channel(upstream.url, key="key-ok", name="one")
    second = await gateway.make_channel(upstream.url, key="key-ok", name="two")
    await jobs(gateway, 0).test_all()
    await jobs(gateway, 0).update_balances()
    for channel in (first, second):
        stored = await gateway.services.db.channels.get(channel.id)
        assert stored.test_time > 0 and stored.balance_updated_time > 0


@pytest.mark.gen_test(timeout=60)
async def test_testing_all_channels_disables_one_that_answers_slower_than_the_threshold(gateway, upstream):
    channel = await gateway.make_channel(upstream.url, key="key-ok", name="slow")
    options = gateway.services.options
    await options.set("ChannelDisableThreshold", "0.000001")     # every answer is slower than this
    tester = gateway.services.channel_tests

    assert (await tester.test(channel.id)).success                 # a single test has no time limit
    [result] = await tester.test_all()                             # automatic disabling is off: reported only
    assert not result["success"] and "ChannelDisableThreshold" in result["message"]
    assert await status_of(gateway, channel) == STATUS_ENABLED

    await options.set("AutomaticDisableChannelEnabled", "true")
    await tester.test_all()
    stored = await gateway.services.db.channels.get(channel.id)
    assert stored.status == STATUS_AUTO_DISABLED and "ChannelDisableThreshold" in stored.status_reason

    await gateway.services.channels.enable_automatically(channel.id, "test")
    await options.set("ChannelDisableThreshold", "0")               # no limit
    [result] = await tester.test_all()
    assert result["success"] and await status_of(gateway, channel) == STATUS_ENABLED
