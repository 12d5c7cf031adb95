"""Playwright driving Debian's Chromium against pytest-django's live server, with axe-core.

Browsers are never downloaded: the tests use /usr/bin/chromium. Where it is missing the browser
tests are skipped, unless COMPTOIR_REQUIRE_BROWSER=1 (as in CI), where they fail instead.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("COMPTOIR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Screenshots go here (COMPTOIR_BROWSER_SCREENSHOTS=1 keeps one of every page checked).
ARTIFACTS = Path(os.environ.get("COMPTOIR_BROWSER_ARTIFACTS", "var/browser"))


def _browser_required() -> bool:
    return os.environ.get("COMPTOIR_REQUIRE_BROWSER", "").strip() == "1"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = (
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package to run the "
            "browser journeys"
        )
        if _browser_required():
            pytest.fail(message + " (COMPTOIR_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread for as long as it runs (so for
    # the rest of the session, later tests included); Django refuses ORM calls in a thread with
    # a running loop unless told that the loop serves no requests, which is the case here: the
    # live server has its own threads.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def _stylesheet_served(live_server) -> None:
    """axe-core judges contrast and target sizes on the styled page: the stylesheet must load."""
    url = f"{live_server.url}/static/comptoir/app.css"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, b""
    if status != 200:
        pytest.fail(
            f"{url} answers {status}: the stylesheet is not served, so every page would be "
            "checked unstyled. Django must find src/comptoir/static (STATICFILES_DIRS).",
            pytrace=False,
        )
    assert b".button" in body


@pytest.fixture
def page(browser, live_server, _stylesheet_served) -> Iterator:
    """A fresh browser context (no cookies) with JavaScript off: every form must work without it."""
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-GB"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


class AxeChecker:
    """Runs axe-core with the WCAG 2.x A/AA rules and fails with a readable list of violations.

    axe-core needs timers, which do not run in a page with JavaScript off. So the checker copies
    the DOM of the journey's page (as the person sees it, after any POST) into a page of its own,
    with JavaScript on and the same stylesheets, and runs axe-core there."""

    def __init__(self, browser, base_url: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self._axe = Axe()
        self._base_url = base_url.rstrip("/") + "/"
        self._context = browser.new_context(base_url=base_url, locale="en-GB")
        self._page = self._context.new_page()
        self.checked: list[str] = []

    def close(self) -> None:
        self._context.close()

    def __call__(self, page) -> None:
        self._page.set_viewport_size(page.viewport_size or {"width": 1280, "height": 720})
        # After a click that loads a page, Playwright may return before the new document is
        # there: check the page the person sees, not the empty one in between.
        page.wait_for_load_state("load")
        html = page.content()
        base = f'<base href="{self._base_url}">'
        html = re.sub(r"<head([^>]*)>", lambda m: f"<head{m.group(1)}>{base}", html, count=1)
        self._page.set_content(html, wait_until="load")
        results = self._axe.run(
            self._page,
            options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        self.checked.append(page.url)
        if os.environ.get("COMPTOIR_BROWSER_SCREENSHOTS") == "1":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", page.url.split("//", 1)[-1].lower()).strip("-")
            name = f"{len(self.checked):02d}-{slug[:60]}.png"
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        violations = results.response["violations"]
        if violations:
            pytest.fail(
                f"axe-core found {len(violations)} WCAG violation(s) on {page.url} "
                f"({page.title()!r}):\n{format_violations(violations)}",
                pytrace=False,
            )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation.get('impact')}]: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"]:
            html = re.sub(r"\s+", " ", node.get("html", ""))[:200]
            lines.append(f"    at {', '.join(map(str, node['target']))}: {html}")
            summary = node.get("failureSummary") or ""
            for line in summary.splitlines():
                lines.append(f"      {line.strip()}")
    return "\n".join(lines)


@pytest.fixture
def axe(browser, live_server) -> Iterator[AxeChecker]:
    checker = AxeChecker(browser, live_server.url)
    try:
        yield checker
    finally:
        checker.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
