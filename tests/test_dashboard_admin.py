"""The admin dashboard in a real headless Chromium against a real gateway: channels (create, test),
settings (a ratio through its JSON editor), redemption codes a user then redeems, crediting a user."""
import pytest

from tests.browser import browser_page, log_in, screenshot, toast

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
async def test_a_normal_user_is_sent_away_from_the_admin_side(gateway):
    await gateway.make_user(username="plain")
    async with browser_page() as page:
        await log_in(page, gateway, "plain", "password1")
        await page.goto(gateway.url + "/admin")
        await page.wait_for_url("**/#/home")
