"""The explorer in a real headless Chromium (Debian's /usr/bin/chromium via Playwright), at desktop and phone
sizes: every page renders with no console error and no sideways scrolling, the heatmap shows every label,
grouped by domain, and a click opens the pair; KPI tiles carry units and say whether a change is good; ask
answers cite with links; the pages are keyboard-usable. The run writes docs/screenshots/<page>-<size>.png."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rag.planted import CATALOG

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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
# page -> (hash, selector that proves it rendered)
PAGES = {
    "overview": ("#/", "#kpi-domains .tile"),
    "correlations": ("#/correlations", "#heatmap .main-svg"),
    "pair": ("#/pair?a=mkt.ad_spend&b=mkt.signups", "#ccf .main-svg"),
    "findings": ("#/findings", "#finding-cards article"),
    "forecasts": ("#/forecasts", "#fc-plot .main-svg"),
    "anomalies": ("#/anomalies", "#an-table tbody tr.clickable"),
    "quality": ("#/quality", "#dq-tables tbody tr"),
    "catalog": ("#/catalog", "#cat-table tbody tr"),
    "series": ("#/series/mkt.signups", "#series-plot .main-svg"),
    "table": ("#/table/gold.series_values?v=1", "#table-versions tbody tr.selected"),
    "document": ("#/doc/user:campaign-notes", "#doc-text:not(:empty)"),
    "uploads": ("#/uploads", "#up-table tbody tr.clickable"),
}
DOMAIN = {sid: domain for sid, _, _, domain in CATALOG}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"),
]


def _save(page: Any, name: str) -> None:
    """A small, commit-ready PNG (palette-quantised) of the viewport-wide page, at most 2600 px tall."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = min(2600, page.evaluate("document.documentElement.scrollHeight"))
    width = page.viewport_size["width"]
    raw = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
    image = Image.open(io.BytesIO(raw)).convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    image.save(SCREENSHOTS / f"{name}.png", optimize=True)


class Session:
    """One logged-in tab: records console errors and any request leaving the app."""

    def __init__(self, browser: Any, app: dict[str, Any], size: str) -> None:
        self.app, self.size = app, size
        self.page = browser.new_page(viewport=SIZES[size])
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(app["url"]) else self.external.append(r.url))
        self.page.goto(app["url"] + "/")
        self.page.fill("#token", app["tokens"]["viewer"])
        self.page.click("#login-button")
        self.page.wait_for_selector("nav:not([hidden])", timeout=60_000)

    def go(self, hash_: str, ready: str, timeout: int = 60_000) -> Any:
        self.page.evaluate("h => { location.hash = h; }", hash_)
        self.page.wait_for_selector(ready, timeout=timeout)
        self.page.wait_for_function("() => !document.querySelector('#status').textContent.startsWith('loading')")
        return self.page

    def no_sideways_scroll(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[self.size]["width"], f"{self.page.url}: page is {width}px wide at {self.size} size"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def sessions(browser: Any, explorer_app: dict[str, Any]) -> Iterator[dict[str, Session]]:
    """One logged-in tab per size, shared by the tests (each navigates where it needs)."""
    opened = {size: Session(browser, explorer_app, size) for size in SIZES}
    yield opened
    for s in opened.values():
        s.page.close()


@pytest.fixture
def desktop(sessions: dict[str, Session]) -> Iterator[Session]:
    s = sessions["desktop"]
    s.errors.clear()
    yield s
    assert s.errors == [], s.errors  # no console error on any page a test visited
    assert s.external == []


def test_page_and_assets_are_self_contained(explorer_app: dict[str, Any]) -> None:
    page = httpx.get(explorer_app["url"] + "/")
    assert page.status_code == 200 and "covary" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    js = httpx.get(explorer_app["url"] + "/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert httpx.get(explorer_app["url"] + "/static/../../etc/passwd").status_code == 404
    assert httpx.get(explorer_app["url"] + "/v1/explorer/overview").status_code == 401


def test_a_wrong_token_is_refused_on_the_page(browser: Any, explorer_app: dict[str, Any]) -> None:
    page = browser.new_page()
    page.goto(explorer_app["url"] + "/")
    page.fill("#token", "cvk_wrong")
    page.click("#login-button")
    page.wait_for_selector("#status.error", timeout=30_000)
    assert page.is_hidden("#content") and "token" in page.inner_text("#status").lower()
    page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_renders_without_errors_and_reflows(sessions: dict[str, Session], size: str) -> None:
    s = sessions[size]
    s.errors.clear()
    for name, (hash_, ready) in PAGES.items():
        s.go(hash_, ready)
        assert not s.page.locator("#status.error").count(), f"{name}: {s.page.inner_text('#status')}"
        s.no_sideways_scroll()
        _save(s.page, f"{name}-{size}")
    # ask and query, with their answers on screen
    page = s.go("#/ask", "#ask-form")
    page.fill("#ask-input", "why did mkt.signups change? does mkt.ad_spend cause it?")
    page.click("#ask-button")
    page.wait_for_selector("#answer p", timeout=120_000)
    s.no_sideways_scroll()
    _save(page, f"ask-{size}")
    page = s.go("#/query", "#query-form")
    page.fill("#query-input", "average mkt.signups by month")
    page.click("#query-button")
    page.wait_for_selector("#query-chart .main-svg", timeout=120_000)
    assert page.locator("#query-table tbody tr").count() > 5
    s.no_sideways_scroll()
    _save(page, f"query-{size}")
    assert s.errors == [], s.errors
    assert s.external == []  # no CDN, no network beyond the app


def test_heatmap_shows_every_label_grouped_by_domain_and_a_click_opens_the_pair(desktop: Session) -> None:
    s = desktop
    page = s.go("#/correlations", "#heatmap .main-svg")
    page.select_option("#f-q", "0.1")
    expected = page.evaluate("[...new Set(filtered().flatMap(f => [f.a, f.b]))]")
    page.wait_for_function(  # the redraw after the filter change is asynchronous
        "n => document.querySelectorAll('#heatmap .ytick text').length === n", arg=len(expected)
    )
    names = page.evaluate("[...document.querySelectorAll('#heatmap .ytick text')].map(t => t.textContent)")
    xnames = page.evaluate("[...document.querySelectorAll('#heatmap .xtick text')].map(t => t.textContent)")
    significant = set(expected)
    assert len(significant) >= 3
    assert sorted(names) == sorted(significant) and xnames == names  # every label, none dropped
    assert all(n in DOMAIN for n in names)  # full ids, not clipped
    domains = [DOMAIN[n] for n in names]
    assert domains == sorted(domains)  # grouped by domain
    boxes = page.evaluate(
        "[...document.querySelectorAll('#heatmap .ytick text')].map(t => { const b = t.getBoundingClientRect(); "
        "return [b.left, b.top, b.bottom]; })"
    )
    assert min(b[0] for b in boxes) >= 0  # no label cut at the left edge
    assert all(b2[1] >= b1[2] - 1 for b1, b2 in itertools.pairwise(boxes))  # labels do not overlap
    # a real mouse click on the cell (row i, column j) of a significant pair
    f = page.evaluate("filtered()[0]")
    i, j = names.index(f["a"]), names.index(f["b"])
    x, y = page.evaluate(
        "([i, j]) => { const gd = document.getElementById('heatmap'), L = gd._fullLayout;"
        " const r = gd.getBoundingClientRect();"
        " return [r.left + L._size.l + L.xaxis.l2p(j), r.top + L._size.t + L.yaxis.l2p(i)]; }",
        [i, j],
    )
    page.mouse.click(x, y)
    page.wait_for_function(  # the pair page of exactly this pair has loaded
        "t => document.querySelector('#pair-title').textContent === t"
        " && !document.querySelector('#status').textContent",
        arg=f"{f['a']} ~ {f['b']}",
        timeout=30_000,
    )
    assert "not causation" in page.inner_text("#caveat").lower()
    assert page.locator("#ccf .bars .point").count() == 17  # lags -8..8
    # the network view uses the heatmap's colour meaning: blue for r > 0, red for r < 0
    page = s.go("#/correlations", "#heatmap .main-svg")
    page.check("#f-network")
    page.wait_for_selector("#heatmap .scatterlayer", timeout=30_000)
    edges = page.evaluate(
        "document.getElementById('heatmap').data.filter(t => t.mode === 'lines').map(t => [t.text, t.line.color])"
    )
    scale = page.evaluate("COLORSCALE")
    assert edges
    for text, color in edges:
        r = float(re.search(r"r=(-?[\d.]+)", text).group(1))  # type: ignore[union-attr]
        red, _, blue = (int(v) for v in re.findall(r"\d+", color))
        assert (blue > red) == (r > 0), (text, color)
    assert "37,99,235" in scale[-1][1] and "220,38,38" in scale[0][1]  # heatmap: +1 blue, -1 red
    page.uncheck("#f-network")
    page.select_option("#f-q", "0.05")


def test_kpi_tiles_carry_units_and_colour_by_whether_the_change_is_good(desktop: Session) -> None:
    s = desktop
    page = s.go("#/", "#kpi-domains .tile")
    tiles = page.evaluate(
        "[...document.querySelectorAll('.tile')].map(t => ({name: t.querySelector('.name').textContent, "
        "value: t.querySelector('.value').textContent, change: t.querySelector('.change').textContent, "
        "cls: t.className}))"
    )
    by = {t["name"].split(" · ")[0]: t for t in tiles}
    conv, cac, rev = by["Conversion rate"], by["Customer acquisition cost"], by["Revenue"]
    assert conv["value"] == "0.77 % of clicks" and "2023-12-01" in conv["name"]  # the complete month, not January
    assert "tile-bad" in conv["cls"] and re.search(r"▼ -3\.[78] %", conv["change"])
    assert cac["value"] == "$45.72 per customer" and "tile-bad" in cac["cls"] and "(bad)" in cac["change"]  # CAC up
    assert rev["value"] == "$374,769" and "tile-good" in rev["cls"] and "(good)" in rev["change"]
    headings = page.evaluate("[...document.querySelectorAll('.domain h3 .cap')].map(h => h.textContent)")
    assert set(headings) == {"marketing", "operations", "weather", "web"}  # every domain, not only marketing
    tickets = next(t for t in tiles if "support tickets" in t["name"])
    assert tickets["value"].endswith(" count")  # series tiles carry the catalogue unit


def test_pages_show_forecast_intervals_alerts_quality_and_upload_status(desktop: Session) -> None:
    s = desktop
    page = s.go("#/forecasts", "#fc-plot .main-svg")
    sentence = page.inner_text("#fc-sentence")
    assert "80% interval" in sentence and "95% interval" in sentence and "ets" in sentence and "MASE 0.61" in sentence
    assert page.evaluate("document.getElementById('fc-plot').data.length") == 4  # 95%, 80%, actual, forecast
    assert "ets (chosen)" in page.inner_text("#fc-backtests")
    page = s.go("#/anomalies", "#an-table tbody tr.clickable")
    assert "level shift in mkt.ad_spend" in page.inner_text("#an-alerts")
    page.locator("#an-table tbody tr.clickable").first.click()
    page.wait_for_selector("#an-plot .main-svg", timeout=30_000)
    page = s.go("#/quality", "#dq-tables tbody tr")
    assert "gold.series_values" in page.inner_text("#dq-tables") and page.locator("#dq-plot .main-svg").count()
    page = s.go("#/uploads", "#up-table tbody tr.clickable")
    assert "loaded with problems" in page.inner_text("#up-table") and "prices.csv" in page.inner_text("#up-table")
    assert "expected 3 fields, got 4" in page.inner_text("#up-quarantine")
    assert "price" in page.inner_text("#up-profile")
    page = s.go("#/findings", "#finding-cards article")
    card = page.locator("#finding-cards article").first
    assert "not causation" in card.inner_text().lower() and "effectively independent" in card.inner_text()
    card.locator("button.plots").click()
    card.locator(".mini-plot .main-svg").first.wait_for(timeout=30_000)


def test_ask_answers_in_sentences_and_citations_link_to_their_source(desktop: Session) -> None:
    s = desktop
    page = s.go("#/ask", "#ask-form")
    page.fill("#ask-input", "why did mkt.signups change? does mkt.ad_spend cause it?")
    page.click("#ask-button")
    page.wait_for_selector("#answer sup a", timeout=120_000)
    assert "not causation" in page.inner_text("#answer-caveat")
    assert re.search(r"\d", page.inner_text("#answer"))  # numbers in the answer
    cited = page.locator("#citations li").count()
    paragraphs = page.locator("#answer p").count()
    assert paragraphs >= min(cited, 2), (paragraphs, cited)  # one paragraph per cited statement, not one block
    hrefs = page.evaluate("[...document.querySelectorAll('#citations a')].map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith(("#/finding/", "#/table/", "#/series/", "#/doc/")) for h in hrefs)
    inline = page.evaluate("[...document.querySelectorAll('#answer sup a')].map(a => a.getAttribute('href'))")
    assert set(inline) <= set(hrefs)
    finding = next((h for h in hrefs if h.startswith("#/finding/")), None)
    assert finding, hrefs
    fid = finding.removeprefix("#/finding/")
    pair = page.evaluate(
        "id => { const f = state.overview.findings.find(f => f.finding_id === id); return f.a + ' ~ ' + f.b; }", fid
    )
    page.click(f"#citations a[href='{finding}']")
    page.wait_for_function(
        "t => document.querySelector('#pair-title').textContent === t", arg=pair, timeout=30_000
    )  # the cited finding's own pair page
    assert page.evaluate("location.hash") == finding


def test_keyboard_only_navigation(desktop: Session) -> None:
    s = desktop
    page = s.go("#/", "#kpi-domains .tile")
    page.evaluate("document.activeElement.blur()")
    for _ in range(40):  # Tab to the Correlations link and press Enter
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.page") == "correlations":
            break
    assert page.evaluate("document.activeElement.tagName") == "A"
    page.keyboard.press("Enter")
    page.wait_for_selector("#findings tbody tr.clickable", timeout=30_000)
    row = page.locator("#findings tbody tr.clickable").nth(1)
    pair = row.get_attribute("data-pair").replace("|", " ~ ")  # type: ignore[union-attr]
    row.focus()
    page.keyboard.press("Enter")  # a findings row opens its pair
    page.wait_for_function("t => document.querySelector('#pair-title').textContent === t", arg=pair, timeout=30_000)
    assert page.evaluate("location.hash").startswith("#/pair?")
    outline = page.evaluate(
        "(() => { const a = document.querySelector('nav a'); a.focus(); return getComputedStyle(a).outlineStyle; })()"
    )
    assert outline != "none"  # focus is visible


def test_swagger_ui_and_redoc_render_offline(browser: Any, explorer_app: dict[str, Any]) -> None:
    page = browser.new_page(viewport=SIZES["desktop"])
    external: list[str] = []
    local = (explorer_app["url"], "blob:", "data:")
    page.on("request", lambda r: None if r.url.startswith(local) else external.append(r.url))
    page.goto(explorer_app["url"] + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert page.locator(".swagger-ui .authorize").count() == 1  # bearer auth is declared
    _save(page, "api-docs-desktop")
    page.goto(explorer_app["url"] + "/redoc")
    page.wait_for_selector(".api-content", timeout=60_000)
    assert "covary query service" in page.inner_text("body")
    page.close()
    assert external == [], external
