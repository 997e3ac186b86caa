"""What every browser test checks on a page: axe-core finds no critical violation, and nothing
runs off a phone-sized screen."""

from __future__ import annotations

from typing import Any

from tests.support import ROOT

AXE = ROOT / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"  # `make axe`
CRITICAL = """async () => (await axe.run()).violations.filter(v => v.impact === 'critical')
    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""


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
