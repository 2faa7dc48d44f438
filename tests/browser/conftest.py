"""Browser tests: Debian's chromium driven by Playwright against a live server process.

The server is ``manage.py runserver`` in its own process on the test database, as a
newcomer's demo serves the pages: static files through WhiteNoise, tasks through
the broker (a test that needs them done asks for ``celery_worker``), SMS and email
through the console backends, whose output the tests read (``Site.sms_code``,
``Site.log``). Data the server must see is committed
(``committed_db``), so each test uses names of its own (``unique``).

A JavaScript error or a console error on any page fails the test
(``BrowserPage.assert_clean``, run at teardown); a test that expects a console
message (a page answered 404 on purpose) says so with ``allow_console``.

Screenshots: ``shoot(page, name)`` writes ``docs/screenshots/<name>-<size>.png``
when ``UPDATE_SCREENSHOTS=1``, else into the test's temporary directory (so a CI
run does not touch the work tree, but the capture still runs). Only pages opened in
Chinese (``open_page(locale="zh-CN")``) write into ``docs/``: the product is zh-Hans
first and the pictures show what its users see (issue 24); an English page's capture
stays in the temporary directory.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools.fake_wechat import FakeWeChat
from tests.fixtures.processes import child_env, free_port, running, wait_for_http
from tests.fixtures.wechat import site_settings

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
# inside one unless told that this thread does not share it with async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

VIEWPORTS: dict[str, dict[str, int]] = {
    "phone": {"width": 360, "height": 640},
    "desktop": {"width": 1280, "height": 800},
}


@dataclass
class Site:
    """The live server process (not pytest-django's in-process ``live_server``)."""

    url: str
    log: Path

    def sms_code(self, phone: str, timeout: float = 15.0) -> str:
        """The last six-digit code the console SMS backend printed for ``phone``."""
        pattern = re.compile(rf"\[sms to {re.escape(phone)}\].*?\b(\d{{6}})\b")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.findall(self.log.read_text(errors="replace"))
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no SMS to {phone} in {self.log}")


@pytest.fixture(scope="session")
def site(
    django_db_setup: None,
    tmp_path_factory: pytest.TempPathFactory,
    fake_wechat_server: FakeWeChat,
) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("live-server") / "server.log"
    env = child_env(
        SMS_BACKEND="accounts.sms.ConsoleSmsBackend",
        # Emails (invitations, decisions on applications) printed into the server's log.
        EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
        PUBLIC_BASE_URL=url,
        PYTHONUNBUFFERED="1",
        # Our service account and third-party platform at the fake WeChat, which runs in
        # the test process (a test that uses it asks for ``fake_wechat`` for its state).
        **site_settings(fake_wechat_server),
    )
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with running(command, env=env, log=log, stop_timeout=10) as server:
        wait_for_http(f"{url}/static/frontend/api.js", server, log, timeout=60)
        yield Site(url=url, log=log)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No chromium at {CHROMIUM}: install Debian's (apt-get install -y chromium; "
            ".ci/run does) or set CHROMIUM to a Chromium binary."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class BrowserPage:
    """A Playwright page that records JavaScript and console errors."""

    page: Any
    size: str
    locale: str = "en"
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def record_console(self, message: Any) -> None:
        """Playwright's console listener: keeps the page's console errors."""
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location})")

    def allow_console(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def assert_clean(self) -> None:
        unexpected = [e for e in self.errors if not any(p.search(e) for p in self.allowed)]
        assert not unexpected, f"errors in the browser: {unexpected}"


@pytest.fixture
def open_page(browser: Any, site: Site) -> Iterator[Callable[..., BrowserPage]]:
    """``open_page(size="phone", locale="en", user_agent=None)``: a fresh context (no
    tokens) and page; ``user_agent`` replaces the browser's (WeChat's, say)."""
    pages: list[BrowserPage] = []
    contexts: list[Any] = []

    def open_(
        size: str = "phone", locale: str = "en", user_agent: str | None = None
    ) -> BrowserPage:
        extra: dict[str, Any] = {"user_agent": user_agent} if user_agent else {}
        context = browser.new_context(
            **extra,
            base_url=site.url,
            viewport=VIEWPORTS[size],
            locale=locale,
            extra_http_headers={"Accept-Language": locale},
            is_mobile=size == "phone",
            has_touch=size == "phone",
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        wrapped = BrowserPage(page=page, size=size, locale=locale)
        page.on("pageerror", lambda error: wrapped.errors.append(f"pageerror: {error}"))
        page.on("console", wrapped.record_console)
        pages.append(wrapped)
        return wrapped

    yield open_
    try:
        for wrapped in pages:
            wrapped.assert_clean()
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[BrowserPage, str], Path]:
    def shoot_(page: BrowserPage, name: str) -> Path:
        chinese = page.locale.lower().startswith("zh")
        update = os.environ.get("UPDATE_SCREENSHOTS") == "1"
        directory = SCREENSHOTS if update and chinese else tmp_path
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}-{page.size}.png"
        page.page.screenshot(path=str(path), full_page=True)
        return path

    return shoot_
