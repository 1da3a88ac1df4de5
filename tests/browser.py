"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for the dashboard journeys.
Screenshots go to test-output/screenshots/ so a person can look at them."""
import contextlib
import os

from playwright.async_api import async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-output", "screenshots")
# Without these, Chromium keeps trying to reach Google's services, which this network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextlib.asynccontextmanager
async def browser_page(width=1280, height=900):
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            page.set_default_timeout(15000)
            yield page
        finally:
            await browser.close()


async def screenshot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    await page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)
