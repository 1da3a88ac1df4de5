"""The user dashboard in a real headless Chromium against a real gateway: register, log in, make a key,
use it, find the call in the logs and the chart; keys on a phone; paging; prices; the top-up return page;
the default root password warning."""
import datetime
import time
import zoneinfo

import pytest

from models.top_ups import TopUp
from tests.browser import PHONE, browser_page, log_in, screenshot, toast

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
TOKYO = "Asia/Tokyo"
ROUTES = ("home", "tokens", "logs", "topup", "mj", "pricing", "invite", "profile")


@pytest.mark.gen_test(timeout=120)
async def test_register_login_create_key_use_it_and_see_the_log_and_the_chart(gateway, upstream):
    await gateway.make_channel(upstream.url)
    async with browser_page(timezone=TOKYO) as page:    # days and times in the browser's zone, not UTC
        await page.goto(gateway.url + "/#/register")
        await page.fill("input[name=username]", "carol")
        await page.fill("input[name=password]", "carol-password")
        await page.click("button[type=submit]")
        await page.wait_for_url("**/#/login")
        await toast(page, "ok", "Account created")

        await page.fill("input[name=username]", "carol")
        await page.fill("input[name=password]", "carol-password")
        await page.click("button[type=submit]")
        await page.wait_for_selector("#card-balance")
        assert await page.locator("#default-password").count() == 0     # only root's first password warns

        await page.click("nav >> text=API keys")
        await page.click("text=New key")
        await page.fill("dialog input[name=name]", "my script")
        await page.click("dialog button[type=submit]")
        snippet = await page.wait_for_selector("pre.snippet")
        key = next(word for word in (await snippet.inner_text()).split() if word.startswith("OPENAI_API_KEY="))
        key = key.split("=", 1)[1]
        await page.click("dialog >> [aria-label=Close]")
        await page.wait_for_selector("td >> text=my script")
        await screenshot(page, "user-tokens")

        user = await gateway.services.db.users.by_username("carol")
        await gateway.services.db.users.update(user.id, {"quota": 1_000_000})
        response = await gateway.fetch("/v1/chat/completions", "POST", json=CHAT, key=key)
        assert response.status == 200
        await gateway.settled()
        [entry] = await gateway.logs(user_id=user.id, type=2)

        await page.click("nav >> text=Logs")
        await page.wait_for_selector("td >> text=gpt-4o-mini")
        local = datetime.datetime.fromtimestamp(entry["created_at"], zoneinfo.ZoneInfo(TOKYO))
        shown = local.strftime(f"{local.month}/{local.day}/%Y, {local.hour % 12 or 12}:%M:%S %p")
        assert await page.inner_text("td[data-label=Time]") == shown
        assert await page.locator("td >> text=my script").count() == 1
        totals = page.locator("#log-totals", has_text="Spent in this selection")
        await totals.wait_for()
        assert f"${entry['quota'] / 500000:.6f}" in await totals.inner_text()
        await screenshot(page, "user-logs")

        async with page.expect_download() as download:
            await page.click("text=Export CSV")
        with open(await (await download.value).path()) as f:
            exported = f.read()
        assert "gpt-4o-mini" in exported and "my script" in exported

        await page.click("nav >> text=Home")
        await page.wait_for_selector(".chart rect[data-series='gpt-4o-mini']")
        assert "1 requests" in await page.inner_text("#usage-total")
        await page.select_option("select[aria-label=Days]", "30")
        await page.wait_for_selector("figcaption >> text=(30 days)")
        assert await page.locator(".chart rect[data-series='gpt-4o-mini']").count() == 1
        await screenshot(page, "user-home-chart")


@pytest.mark.gen_test(timeout=120)
async def test_every_user_page_renders_without_errors_and_quota_as_the_option_says(gateway, upstream):
    await gateway.make_channel(upstream.url)
    await gateway.make_user(username="visitor", quota=1_250_000)
    async with browser_page() as page:
        await log_in(page, gateway, "visitor", "password1")
        assert await page.inner_text("#card-balance .value") == "$2.50"
        await gateway.services.options.set("DisplayInCurrencyEnabled", "false")
        await page.reload()
        await page.wait_for_selector("#card-balance .value >> text=1250000")
        for route in ROUTES:
            await page.goto(f"{gateway.url}/#/{route}")
            await page.wait_for_selector("main h1")
            assert await page.locator("main .error").count() == 0, route


@pytest.mark.gen_test(timeout=120)
async def test_a_wrong_password_shows_the_servers_message(gateway):
    async with browser_page(**PHONE) as page:     # a phone-width screen
        await page.goto(gateway.url + "/#/login")
        await page.fill("input[name=username]", "root")
        await page.fill("input[name=password]", "not-the-password")
        await page.click("button[type=submit]")
        alert = await page.wait_for_selector("[role=alert]")
        assert "wrong username or password" in await alert.inner_text()
        await screenshot(page, "user-login-error-phone")


@pytest.mark.gen_test(timeout=120)
async def test_tokens_on_a_phone_batch_create_edit_and_disable(gateway):
    user = await gateway.make_user(username="mobile")
    async with browser_page(**PHONE) as page:
        await log_in(page, gateway, "mobile", "password1")
        await page.goto(gateway.url + "/#/tokens")
        await page.click("text=Batch create")
        await page.fill("dialog input[name=count]", "3")
        await page.fill("dialog input[name=name]", "bot")
        await page.click("dialog button[type=submit]")
        keys = await page.wait_for_selector("#new-keys")
        lines = (await keys.input_value()).splitlines()
        assert [line.split("\t")[0] for line in lines] == ["bot-1", "bot-2", "bot-3"]
        assert all(line.split("\t")[1].startswith("sk-") for line in lines)
        await page.click("dialog >> [aria-label=Close]")
        await page.wait_for_selector("td >> text=bot-3")
        await screenshot(page, "user-tokens-phone")

        row = page.locator("tr", has_text="bot-2")
        await row.locator("text=Edit").click()
        await page.uncheck("dialog input[name=unlimited_quota]")
        await page.fill("dialog input[name=remain_quota]", "12345")
        await page.fill("dialog input[name=models]", "gpt-4o-mini")
        await page.fill("dialog input[name=rpm_limit]", "30")
        await page.click("dialog button[type=submit]")
        await toast(page, "ok", "Saved")
        await row.locator("text=Disable").click()
        await page.wait_for_selector("tr:has-text('bot-2') >> text=disabled")

        # A bad edit shows the server's message and leaves the dialog open.
        await row.locator("text=Edit").click()
        await page.fill("dialog input[name=subnet]", "not-an-ip")
        await page.click("dialog button[type=submit]")
        assert "not an IP address" in await toast(page, "error", "subnet")
        assert await page.locator("dialog").count() == 1
        await screenshot(page, "user-token-error-phone", full_page=False)

    tokens, _ = await gateway.services.tokens.page(user.id, "bot-2", 1, 10)
    [edited] = tokens
    assert edited["remain_quota"] == 12345 and not edited["unlimited_quota"]
    assert edited["models"] == "gpt-4o-mini" and edited["status"] == 2 and edited["subnet"] == ""
    assert edited["rpm_limit"] == 30


@pytest.mark.gen_test(timeout=120)
async def test_the_chosen_page_size_is_kept_after_a_reload(gateway):
    user = await gateway.make_user(username="pager")
    for n in range(25):
        await gateway.make_token(user, name=f"key-{n:02d}")
    async with browser_page() as page:
        await log_in(page, gateway, "pager", "password1")
        await page.goto(gateway.url + "/#/tokens")
        await page.wait_for_selector("text=Page 1 of 2 · 25 in all")
        await page.select_option("select[aria-label='Rows per page']", "10")
        await page.wait_for_selector("text=Page 1 of 3 · 25 in all")
        assert await page.locator("tbody tr").count() == 10
        await page.click("text=Next ›")
        await page.wait_for_selector("text=Page 2 of 3 · 25 in all")

        await page.reload()
        await page.wait_for_selector("text=Page 1 of 3 · 25 in all")
        assert await page.input_value("select[aria-label='Rows per page']") == "10"
        assert await page.locator("tbody tr").count() == 10


@pytest.mark.gen_test(timeout=120)
async def test_price_list_shows_usd_prices_of_the_groups_models(gateway, upstream):
    await gateway.services.options.set("ModelRatio", '{"gpt-4o-mini": 0.075}')
    await gateway.services.options.set("CompletionRatio", '{"gpt-4o-mini": 4}')
    await gateway.services.options.set("ModelPrice", '{"dall-e-3": 0.04}')
    await gateway.make_channel(upstream.url, models="gpt-4o-mini,dall-e-3")
    await gateway.make_user(username="buyer")
    async with browser_page() as page:
        await log_in(page, gateway, "buyer", "password1")
        await page.goto(gateway.url + "/#/pricing")
        mini = page.locator("#prices tr", has_text="gpt-4o-mini")
        await mini.wait_for()
        assert "$0.1500" in await mini.inner_text() and "$0.6000" in await mini.inner_text()
        assert "$0.04" in await page.locator("#prices tr", has_text="dall-e-3").inner_text()
        await screenshot(page, "user-pricing")


@pytest.mark.gen_test(timeout=120)
async def test_the_payment_sites_return_address_shows_the_orders_state(gateway):
    user = await gateway.make_user(username="payer")
    order = await gateway.services.db.top_ups.create(TopUp(
        id=0, user_id=user.id, amount=10, money="73.00", quota=5_000_000, trade_no="USR1NOabc123",
        payment_method="alipay", create_time=int(time.time())))
    async with browser_page() as page:
        await log_in(page, gateway, "payer", "password1")
        await page.goto(f"{gateway.url}/topup/{order.trade_no}?trade_status=TRADE_SUCCESS")
        await page.wait_for_url(f"**/#/topup?trade_no={order.trade_no}")
        assert "waiting for the payment site" in await page.inner_text("#order-state")
        await page.wait_for_selector("td >> text=USR1NOabc123")

        root = await gateway.services.db.users.by_username("root")
        await gateway.services.payments.complete_by_hand(root, order.trade_no)
        await page.reload()
        state = page.locator("#order-state", has_text="is paid")
        await state.wait_for()
        assert "$10.00 was added" in await state.inner_text()
        assert await page.inner_text("#topup-balance") == "$12.00"     # 1 000 000 + 5 000 000 quota
        await screenshot(page, "user-topup-return")


@pytest.mark.gen_test(timeout=120)
async def test_the_default_root_password_warns_until_it_is_changed(gateway):
    async with browser_page() as page:
        await log_in(page, gateway, "root", "123456")
        assert "default root password" in await page.inner_text("#default-password")
        await page.click("#default-password >> text=Change it now")
        await page.wait_for_selector("main h1 >> text=Profile")
        await page.fill("input[name=original_password]", "123456")
        await page.fill("input[name=password]", "a-better-password")
        await page.click("text=Change password")
        await toast(page, "ok", "Password changed")
        await page.wait_for_selector("#default-password", state="detached")
        await page.reload()
        await page.wait_for_selector("main h1 >> text=Profile")
        assert await page.locator("#default-password").count() == 0
    assert (await gateway.login("root", "a-better-password")).startswith("session=")
