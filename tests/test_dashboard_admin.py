"""The admin dashboard in a real headless Chromium against a real gateway: channels (create, test, balance,
enable, delete the disabled ones), settings (a ratio through its JSON editor), redemption codes a user then
redeems, users (credit, debit, promote, demote, disable, delete), old logs deleted, an order completed by hand."""
import time

import pytest

from models.logs import TYPE_CONSUME
from tests.browser import browser_page, log_in, screenshot, toast
from tests.topup_setup import configure, epay, order  # noqa: F401  (fixtures)
from tests.upstreams.billing_mock import BALANCE

ROUTES = ("overview", "channels", "users", "tokens", "redemptions", "logs", "mj", "orders", "settings")


async def log_in_as_root(page, gateway, route="overview"):
    await log_in(page, gateway, "root", "123456")
    await page.goto(f"{gateway.url}/admin#/{route}")
    await page.wait_for_selector("main h1")


@pytest.mark.gen_test(timeout=120)
async def test_admin_sees_the_overview_creates_a_channel_and_tests_it(gateway, upstream):
    async with browser_page() as page:
        await log_in_as_root(page, gateway)
        await page.wait_for_selector("text=Requests today")
        assert "default root password" in await page.inner_text("#default-password")
        await screenshot(page, "admin-overview")

        await page.click("nav >> text=Channels")
        await page.click("text=New channel")
        await page.fill("dialog input[name=name]", "local upstream")
        await page.fill("dialog input[name=base_url]", upstream.url)
        await page.fill("dialog textarea[name=key]", "key-ok")
        await page.fill("dialog input[name=models]", "gpt-4o-mini,gpt-4o")
        await page.click("dialog button[type=submit]")
        await page.wait_for_selector("td >> text=local upstream")

        row = page.locator("tr", has_text="local upstream")
        await row.locator("button", has_text="Test").click()
        passed = await toast(page, "ok", "test passed")
        assert "local upstream: test passed in" in passed and "gpt-4o-mini" in passed
        await row.locator("td[data-label=Response]", has_text=" ms").wait_for()   # the list shows the timing
        await screenshot(page, "admin-channels")

        # A channel whose key the upstream refuses: the test shows the upstream's message.
        [channel] = gateway.services.routing.channels.values()
        await gateway.make_channel(upstream.url, key="key-dead", name="dead key")
        await page.click("text=Search")
        dead = page.locator("tr", has_text="dead key")
        await dead.locator("button", has_text="Test").click()
        assert "Incorrect API key" in await toast(page, "error", "dead key: test failed")

    assert channel.models == ["gpt-4o-mini", "gpt-4o"] and channel.base_url == upstream.url
    stored = await gateway.services.db.channels.get(channel.id)
    assert stored.test_time > 0


@pytest.mark.gen_test(timeout=120)
async def test_every_admin_page_renders_without_errors(gateway, upstream):
    await gateway.make_channel(upstream.url)
    async with browser_page() as page:
        await log_in_as_root(page, gateway)
        for route in ROUTES:
            await page.goto(f"{gateway.url}/admin#/{route}")
            await page.wait_for_selector("main h1")
            assert await page.locator("main .error").count() == 0, route
        await screenshot(page, "admin-settings")


@pytest.mark.gen_test(timeout=120)
async def test_a_ratio_edited_in_settings_changes_the_price(gateway):
    pricing = gateway.services.pricing
    assert pricing.price("gpt-4o-mini", "default").model_ratio != 0.5
    async with browser_page() as page:
        await log_in_as_root(page, gateway, "settings")
        editor = page.locator("[data-option=ModelRatio] textarea")
        ratios = await editor.input_value()
        assert '"gpt-4o-mini"' in ratios

        await editor.fill('{"gpt-4o-mini": 0.5, "gpt-4o": ')          # not JSON: refused in the page
        await page.click("[data-option=ModelRatio] button")
        await toast(page, "error", "ModelRatio is not valid JSON")
        await editor.fill('{"gpt-4o-mini": -1}')                       # JSON the server refuses
        await page.click("[data-option=ModelRatio] button")
        assert "ModelRatio" in await toast(page, "error", "must be a number of zero or more")
        assert pricing.price("gpt-4o-mini", "default").model_ratio != -1

        await editor.fill('{\n  "gpt-4o-mini": 0.5,\n  "gpt-4o": 2.5\n}')
        await page.click("[data-option=ModelRatio] button")
        await toast(page, "ok", "ModelRatio saved")
        await screenshot(page, "admin-settings-ratio", full_page=False)

    assert pricing.price("gpt-4o-mini", "default").model_ratio == 0.5
    assert pricing.quota(pricing.price("gpt-4o-mini", "default"), 1000, 0) == 500
    assert (await gateway.services.db.options.all())["ModelRatio"] == '{"gpt-4o-mini":0.5,"gpt-4o":2.5}'


@pytest.mark.gen_test(timeout=120)
async def test_redemption_codes_made_by_an_admin_are_redeemed_by_a_user(gateway):
    user = await gateway.make_user(username="redeemer", quota=0)
    async with browser_page() as page:
        await log_in_as_root(page, gateway, "redemptions")
        await page.click("text=New codes")
        await page.fill("dialog input[name=name]", "launch")
        await page.fill("dialog input[name=quota]", "2500000")
        await page.fill("dialog input[name=count]", "2")
        await page.click("dialog button[type=submit]")
        codes = (await (await page.wait_for_selector("#new-codes")).input_value()).split()
        assert len(codes) == 2
        await page.click("dialog >> [aria-label=Close]")
        await page.wait_for_selector("text=Page 1 of 1 · 2 in all")
        await screenshot(page, "admin-redemptions")

        await page.goto(gateway.url + "/#/logout")
        await page.wait_for_url("**/#/login")
        await log_in(page, gateway, "redeemer", "password1")
        await page.click("nav >> text=Top up")
        assert await page.inner_text("#topup-balance") == "$0.00"
        await page.fill("input[name=key]", codes[0])
        await page.click("button:has-text('Redeem')")
        await toast(page, "ok", "Redeemed: $5.00 added")
        await page.wait_for_selector("#topup-balance >> text=$5.00")

        await page.fill("input[name=key]", codes[0])                     # a code works once
        await page.click("button:has-text('Redeem')")
        await toast(page, "error", "used")
        await screenshot(page, "user-topup-redeemed")

    assert await gateway.quota_of(user) == 2_500_000
    first, second = [await gateway.services.db.redemptions.by_key(code) for code in codes]
    assert first.used_user_id == user.id and first.status == 3 and second.used_user_id == 0


@pytest.mark.gen_test(timeout=120)
async def test_an_admin_credits_and_debits_a_user(gateway):
    user = await gateway.make_user(username="client", quota=1000)
    async with browser_page() as page:
        await log_in_as_root(page, gateway, "users")
        row = page.locator("tr", has_text="client")
        await row.locator("text=Credit / debit").click()
        await page.fill("dialog input[name=delta]", "500000")
        await page.fill("dialog input[name=remark]", "welcome gift")
        await page.click("dialog button[type=submit]")
        await toast(page, "ok", "Balance changed")
        await row.locator("td[data-label=Balance]", has_text="$1.00").wait_for()

        await row.locator("text=Credit / debit").click()
        await page.fill("dialog input[name=delta]", "-9999999")          # more than the balance
        await page.click("dialog button[type=submit]")
        assert "nothing was taken" in await toast(page, "error", "available balance")
        await screenshot(page, "admin-users-debit-refused", full_page=False)

    assert await gateway.quota_of(user) == 501000
    [entry] = await gateway.logs(user_id=user.id, type=3)
    assert "welcome gift" in entry["content"]


@pytest.mark.gen_test(timeout=120)
async def test_root_promotes_demotes_disables_and_deletes_a_user(gateway):
    user = await gateway.make_user(username="mia")
    key = await gateway.make_token(user)
    async with browser_page() as page:
        page.on("dialog", lambda prompt: prompt.accept())       # the page's "Delete user …?" confirmation
        await log_in_as_root(page, gateway, "users")
        row = page.locator("tr", has_text="mia")
        await row.locator("button", has_text="Promote").click()
        await row.locator("td[data-label=Role]", has_text="Admin").wait_for()
        promoted = (await gateway.services.db.users.get(user.id)).role
        await row.locator("button", has_text="Demote").click()
        await row.locator("button", has_text="Promote").wait_for()
        await row.locator("button", has_text="Disable").click()
        await row.locator("button", has_text="Enable").wait_for()
        disabled = (await gateway.services.db.users.get(user.id)).status
        await screenshot(page, "admin-users-manage", full_page=False)
        await row.locator("button", has_text="Delete").click()
        await toast(page, "ok", "Deleted")
        await page.locator("tr", has_text="mia").wait_for(state="detached")

    assert (promoted, disabled) == (10, 2)
    assert await gateway.services.db.users.get(user.id) is None
    assert (await gateway.fetch("/v1/models", key=key)).status == 401


@pytest.mark.gen_test(timeout=120)
async def test_channel_balance_disable_enable_and_delete_the_disabled_ones(gateway, upstream):
    kept = await gateway.make_channel(upstream.url, name="kept")
    gone = await gateway.make_channel(upstream.url, name="retired")
    async with browser_page() as page:
        page.on("dialog", lambda prompt: prompt.accept())       # "Delete every disabled channel?"
        await log_in_as_root(page, gateway, "channels")
        row = page.locator("tr", has_text="kept")
        await row.locator("button", has_text="Balance").click()
        await row.locator("td[data-label=Balance]", has_text=f"${BALANCE:.2f}").wait_for()
        await row.locator("button", has_text="Disable").click()
        await row.locator("button", has_text="Enable").click()
        await row.locator("button", has_text="Disable").wait_for()
        retired = page.locator("tr", has_text="retired")
        await retired.locator("button", has_text="Disable").click()
        await retired.locator("button", has_text="Enable").wait_for()
        await page.click("button >> text=Delete disabled")
        await toast(page, "ok", "Deleted")
        await retired.wait_for(state="detached")
        await screenshot(page, "admin-channels-cleaned", full_page=False)

    assert (await gateway.services.db.channels.get(kept.id)).status == 1
    assert await gateway.services.db.channels.get(gone.id) is None


@pytest.mark.gen_test(timeout=120)
async def test_logs_older_than_the_days_given_are_deleted(gateway):
    now = int(time.time())
    old = {"type": TYPE_CONSUME, "created_at": now - 100 * 86400, "quota": 1, "user_id": 1, "content": "old one"}
    recent = {**old, "created_at": now - 86400, "content": "recent one"}
    await gateway.services.db.logs.insert_many([old, recent])
    async with browser_page() as page:
        page.on("dialog", lambda prompt: prompt.accept("90"))    # "Delete logs older than how many days?"
        await log_in_as_root(page, gateway, "logs")
        await page.click("button >> text=Delete old")
        await toast(page, "ok", "1 log entries deleted")

    assert [e["content"] for e in await gateway.logs(type=TYPE_CONSUME)] == ["recent one"]


@pytest.mark.gen_test(timeout=120)
async def test_an_admin_completes_a_pending_order_by_hand(gateway, epay):
    await configure(gateway, epay)
    user = await gateway.make_user("payer", quota=0)
    trade_no = (await order(gateway, await gateway.login("payer", "password1"), amount=3))["trade_no"]
    async with browser_page() as page:
        page.on("dialog", lambda prompt: prompt.accept())       # "Mark … as paid?"
        await log_in_as_root(page, gateway, "orders")
        row = page.locator("tr", has_text=trade_no)
        await row.locator("button", has_text="Complete").click()
        await toast(page, "ok", "Order completed")
        await row.locator("text=paid").wait_for()
        await screenshot(page, "admin-orders-completed", full_page=False)

    assert await gateway.quota_of(user) == 3 * 500000
    assert (await gateway.services.db.top_ups.by_trade_no(trade_no)).status == "success"


@pytest.mark.gen_test(timeout=120)
async def test_a_normal_user_is_sent_away_from_the_admin_side(gateway):
    await gateway.make_user(username="plain")
    async with browser_page() as page:
        await log_in(page, gateway, "plain", "password1")
        await page.goto(gateway.url + "/admin")
        await page.wait_for_url("**/#/home")
