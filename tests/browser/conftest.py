"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

The browser is never downloaded: it is /usr/bin/chromium from apt (`.ci/run` installs it).
Without it the browser tests are skipped locally but fail in CI (CI=true), so a CI that
lost its browser cannot pass silently. Screenshots go to var/browser/ as artifacts, and every
page of a failed test is shot as FAILED-<test>-<n>.png."""
from __future__ import annotations

import os

import pytest

from tests.browser.helpers import DESKTOP, PHONE, shot

CHROMIUM = os.environ.get("FANGFAN_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")



@pytest.fixture(scope="package")
def browser():
    """One chromium for the browser tests, stopped after them (package scope): while
    Playwright's sync API runs, an asyncio loop is running in the main thread and Django
    refuses the tests' own (synchronous) ORM calls unless DJANGO_ALLOW_ASYNC_UNSAFE is set; it
    is set for these tests only."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} 不存在: 浏览器测试需要 Debian 的 chromium (apt-get install -y chromium fonts-noto-cjk)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


def _context(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    return context


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed  # read by the page fixtures' teardown
    return report


def _shoot_on_failure(request, pages) -> None:
    if getattr(request.node, "browser_failed", False):
        for n, page in enumerate(pages, 1):
            try:
                shot(page, f"FAILED-{request.node.name}-{n}")
            except Exception:  # noqa: BLE001 - a closed page has nothing to show
                pass


@pytest.fixture
def phone(request, browser, live_server):
    """A 360×740 page (the village cadre's phone)."""
    context = _context(browser, PHONE)
    page = context.new_page()
    yield page
    _shoot_on_failure(request, [page])
    context.close()


@pytest.fixture
def new_page(request, browser, live_server):
    """Pages in fresh contexts (one login each): new_page(phone=True)."""
    contexts, pages = [], []

    def make(phone: bool = False):
        context = _context(browser, PHONE if phone else DESKTOP)
        contexts.append(context)
        pages.append(context.new_page())
        return pages[-1]

    yield make
    _shoot_on_failure(request, pages)
    for context in contexts:
        context.close()


