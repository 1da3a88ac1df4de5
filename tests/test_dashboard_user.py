"""The user dashboard in a real headless Chromium against a real gateway: register, log in, make a key,
use it, and find the call in the logs."""
import pytest

from tests.browser import browser_page, screenshot

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.mark.gen_test(timeout=120)
async def test_register_login_create_key_use_it_and_see_the_log(gateway, upstream):
    await gateway.make_channel(upstream.url)
    async with browser_page() as page:
        await page.goto(gateway.url + "/#/register")
        await page.fill("input[name=username]", "carol")
        await page.fill("input[name=password]", "carol-password")
        await page.click("button[type=submit]")
        await page.wait_for_url("**/#/login")

        await page.fill("input[name=username]", "carol")
        await page.fill("input[name=password]", "carol-password")
        await page.click("button[type=submit]")
        await page.wait_for_selector("#card-balance")

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

        await page.click("nav >> text=Logs")
        await page.wait_for_selector("td >> text=gpt-4o-mini")
        assert await page.locator("td >> text=my script").count() == 1
        await screenshot(page, "user-logs")


@pytest.mark.gen_test(timeout=120)
async def test_a_wrong_password_shows_the_servers_message(gateway):
    async with browser_page(width=390, height=844) as page:     # a phone-width screen
        await page.goto(gateway.url + "/#/login")
        await page.fill("input[name=username]", "root")
        await page.fill("input[name=password]", "not-the-password")
        await page.click("button[type=submit]")
        alert = await page.wait_for_selector("[role=alert]")
        assert "wrong username or password" in await alert.inner_text()
        await screenshot(page, "user-login-error-phone")
