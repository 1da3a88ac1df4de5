"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for the dashboard journeys.
Screenshots go to test-output/screenshots/ so a person can look at them. A page that throws an uncaught
JavaScript error fails the test."""
import contextlib
import os

from playwright.async_api import async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-output", "screenshots")
# Without these, Chromium keeps trying to reach Google's services, which this network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


@contextlib.asynccontextmanager
async def browser_page(width=1280, height=900, timezone=None):
    """A page in a fresh browser; `timezone` (an IANA name) sets the browser's time zone."""
    errors = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": width, "height": height}, timezone_id=timezone,
                                                locale="en-US", accept_downloads=True)
            page = await context.new_page()
            page.set_default_timeout(15000)
            page.on("pageerror", lambda error: errors.append(error))
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            await browser.close()


async def screenshot(page, name, full_page=True):
    """Save what the page shows (the whole page, or the window only: with a dialog open, a window's worth
    is what a person sees)."""
    os.makedirs(SHOTS, exist_ok=True)
    await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=full_page)


async def log_in(page, gateway, username, password, then="#card-balance"):
    """Log in on the user side and wait for the home page (or the selector `then`)."""
    await page.goto(gateway.url + "/#/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector(then)


async def toast(page, kind, text):
    """Wait for a success ("ok") or error message that contains `text`; returns its whole text."""
    item = page.locator(f".toasts .toast.{kind}", has_text=text).first
    await item.wait_for()
    return await item.inner_text()
