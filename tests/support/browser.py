"""What the browser tests share: Debian's Chromium and the marks that skip without it, a provider
emulator per test, the service's settings pointed at it, screenshots, and what every browser test
checks on a page (axe-core finds no critical violation, and nothing runs off a phone-sized screen).

``browser_emulator`` is a fixture; ``tests/acceptance/conftest.py`` imports it for that folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from emulator import EmulatorConfig, EmulatorHTTPServer, start_emulator
from settings import Settings
from tests.support import ROOT

CHROMIUM = "/usr/bin/chromium"
#: every browser test module's ``pytestmark``
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
BROWSER_ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots for people to look at (not committed)
SCREENSHOTS = ROOT / "docs" / "screenshots"  # the README's images
#: the provider account the browser tests' emulator and service share
SID, TOKEN, SG_KEY = "AC" + "5" * 32, "browser-auth-token", "SG.browser"
AXE = ROOT / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"  # `make axe`
CRITICAL = """async () => (await axe.run()).violations.filter(v => v.impact === 'critical')
    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""


@pytest.fixture
def browser_emulator() -> Iterator[EmulatorHTTPServer]:
    """A provider emulator of the test's own (a browser test reads everything it received)."""
    server = start_emulator(EmulatorConfig(twilio_account_sid=SID, twilio_auth_token=TOKEN,
                                           sendgrid_api_key=SG_KEY))
    yield server
    server.stop()


def browser_settings(base: str, emulator_url: str, secret_key: str) -> Settings:
    """The service served at ``base``, sending through the emulator with the real SDKs."""
    return Settings(
        secret_key=secret_key, public_base_url=base,
        twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_from_number="+13125550100",
        twilio_base_url=emulator_url, sendgrid_api_key=SG_KEY,
        sendgrid_from_email="mediation@example.org", sendgrid_base_url=emulator_url,
    )  # type: ignore[call-arg]


@contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, without the background traffic a test has no use for."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])
    try:
        yield browser
    finally:
        browser.close()


def shot(page: Any, folder: Path, name: str, *, readme: str | None = None) -> None:
    """A full-page screenshot ``folder/name.png``; ``readme``: also refresh that README image."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if readme:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / readme)


def accessible(page: Any, name: str) -> None:
    """No critical axe-core violation on the page (axe injected with add_script_tag)."""
    assert AXE.exists(), "run `make axe` (npm install axe-core into tests/.axe)"
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(CRITICAL) == [], name


def fits(page: Any) -> None:
    """Nothing runs off a phone-sized screen: no sideways scrolling, every button reachable."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for box in page.locator("main button").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= width + 0.5
