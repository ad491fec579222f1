"""Steps shared by the browser scenarios: log in, screenshot, the 360 px check."""
from __future__ import annotations

import re
from pathlib import Path

SHOTS = Path(__file__).resolve().parents[2] / "var" / "browser"
PASSWORD = "pw-fangfan-test"  # tests.factories.UserFactory's password
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def url(live_server, path: str) -> str:
    return live_server.url + path


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(url(live_server, "/login/"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"登录失败: {username}\n{page.locator('body').inner_text()[:500]}"


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under var/browser/ (the CI artifact)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_sideways_scroll(page, width: int = PHONE["width"]) -> None:
    """The page fits the phone: no element pushes the document wider than the viewport."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll <= width:
        return
    shot(page, "overflow-" + (page.url.split("//", 1)[-1].split("/", 1)[-1] or "home"))
    # Name the widest culprits so the failure says what to fix.
    culprits = page.evaluate("""(w) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap'))
        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ +/g, '.') : '')
             + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')
        .slice(0, 8)""", width)
    raise AssertionError(f"{page.url}: 页面宽 {scroll}px, 超出 {width}px, 手机上须横向滚动; 超宽元素: {culprits}")
