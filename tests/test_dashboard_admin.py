"""The admin dashboard in a real headless Chromium against a real gateway."""
import pytest

from tests.browser import browser_page, screenshot


async def log_in_as_root(page, gateway):
    await page.goto(gateway.url + "/#/login")
    await page.fill("input[name=username]", "root")
    await page.fill("input[name=password]", "123456")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#card-balance")
    await page.goto(gateway.url + "/admin")


@pytest.mark.gen_test(timeout=120)
async def test_admin_sees_the_overview_and_creates_a_channel(gateway, upstream):
    async with browser_page() as page:
        await log_in_as_root(page, gateway)
        await page.wait_for_selector("text=Requests today")
        await screenshot(page, "admin-overview")

        await page.click("nav >> text=Channels")
        await page.click("text=New channel")
        await page.fill("dialog input[name=name]", "local upstream")
        await page.fill("dialog input[name=base_url]", upstream.url)
        await page.fill("dialog textarea[name=key]", "key-ok")
        await page.fill("dialog input[name=models]", "gpt-4o-mini,gpt-4o")
        await page.click("dialog button[type=submit]")
        await page.wait_for_selector("td >> text=local upstream")
        await screenshot(page, "admin-channels")

    [channel] = gateway.services.routing.channels.values()
    assert channel.models == ["gpt-4o-mini", "gpt-4o"] and channel.base_url == upstream.url


@pytest.mark.gen_test(timeout=120)
async def test_a_normal_user_is_sent_away_from_the_admin_side(gateway):
    await gateway.make_user(username="plain")
    async with browser_page() as page:
        await page.goto(gateway.url + "/#/login")
        await page.fill("input[name=username]", "plain")
        await page.fill("input[name=password]", "password1")
        await page.click("button[type=submit]")
        await page.wait_for_selector("#card-balance")
        await page.goto(gateway.url + "/admin")
        await page.wait_for_url("**/#/home")
