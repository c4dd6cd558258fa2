"""Real Chromium (Debian's package) driven by Playwright for Python, signed in to the dashboard of a served world.

Playwright's own browser download is not reachable here, so the system's chromium is launched by path, with
every background network feature off (the dashboard makes no request beyond the app)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from api_support import ApiWorld
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("PULSECAST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def signed_in(browser: Browser, world: ApiWorld, who: str, viewport: dict = DESKTOP) -> Iterator[Page]:
    """A fresh browser context signed in with `who`'s key through the login form; its page is on the overview."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{world.url}/login")
        page.get_by_label("API key").fill(world.principals[who].key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{world.url}/")
        yield page
        assert not errors, errors
    finally:
        context.close()


def shown_snapshot(page: Page, timeout_ms: float = 30_000) -> str:
    """The snapshot the page finished showing (the body's data-snapshot, set after each refresh)."""
    page.wait_for_function("document.body.dataset.snapshot", timeout=timeout_ms)
    return page.evaluate("document.body.dataset.snapshot")
