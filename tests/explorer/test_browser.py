"""The explorer page in a real headless Chromium: login, heatmap, pair drill-down, ask with citations, query chart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
]


def test_page_and_assets_are_self_contained(explorer_app):
    page = httpx.get(explorer_app["url"] + "/")
    assert page.status_code == 200 and "covary" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    js = httpx.get(explorer_app["url"] + "/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert httpx.get(explorer_app["url"] + "/static/../../etc/passwd").status_code == 404
    assert httpx.get(explorer_app["url"] + "/v1/explorer/overview").status_code == 401


def test_explorer_end_to_end_in_chromium(explorer_app, artifacts_dir):
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(explorer_app["url"]) else None)
        page.goto(explorer_app["url"] + "/")
        # a wrong token is refused, the page says so
        page.fill("#token", "cvk_wrong")
        page.click("#login-button")
        page.wait_for_selector("#status.error", timeout=30_000)
        assert page.is_hidden("#app")
        page.fill("#token", explorer_app["tokens"]["viewer"])
        page.click("#login-button")
        page.wait_for_selector("#findings tbody tr", timeout=60_000)
        assert page.evaluate("sessionStorage.getItem('covary.token')") == explorer_app["tokens"]["viewer"]
        page.wait_for_selector("#heatmap .main-svg", timeout=30_000)
        rows = page.locator("#findings tbody tr")
        assert rows.count() == 3  # the three significant pairs of the latest planted run
        page.wait_for_selector("#kpi-tiles .tile", timeout=30_000)
        assert page.locator("#kpi-tiles .tile").count() == 5
        page.screenshot(path=str(artifacts_dir / "explorer-overview.png"), full_page=True)

        # filters: a stricter q and the weather domain leave no pair
        page.select_option("#f-domain", "weather")
        assert page.locator("#findings tbody tr").count() == 0
        page.select_option("#f-domain", "")
        # click a pair -> drill-down
        page.click("#findings tbody tr[data-pair='mkt.ad_spend|mkt.signups']")
        page.wait_for_selector("#ccf .main-svg", timeout=30_000)
        page.wait_for_selector("#overlay .main-svg", timeout=30_000)
        stats = page.inner_text("#stats")
        assert "r (adjusted)" in stats and "best lag" in stats and "possible confounder" in stats
        assert page.locator("#warnings li").count() >= 1
        assert "not causation" in page.inner_text("#caveat").lower()
        assert page.locator("#ccf .bars .point").count() == 17  # lags -8..8
        page.screenshot(path=str(artifacts_dir / "explorer-pair.png"), full_page=True)

        # ask a question -> streamed answer with citations
        page.fill("#ask-input", "why did mkt.signups change? does mkt.ad_spend cause it?")
        page.click("#ask-button")
        page.wait_for_function("document.querySelector('#answer-caveat').textContent.length > 0", timeout=120_000)
        assert page.locator("#citations li").count() >= 1
        assert "[1]" in page.inner_text("#answer")
        assert "not causation" in page.inner_text("#answer-caveat")
        page.locator("#ask").screenshot(path=str(artifacts_dir / "explorer-ask.png"))

        # run a query -> table and chart
        page.fill("#query-input", "average mkt.signups by month")
        page.click("#query-button")
        page.wait_for_selector("#query-chart .main-svg", timeout=120_000)
        assert page.locator("#query-table tr").count() > 5
        page.locator("#query").screenshot(path=str(artifacts_dir / "explorer-query.png"))
        page.screenshot(path=str(artifacts_dir / "explorer-full.png"), full_page=True)
        browser.close()
    assert external == []  # no CDN, no network beyond the app
