"""The built site as a reader sees it: internal links, and every page in a real headless Chromium."""

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import nbformat
import pytest

from conftest import SMOKE_DATASETS
from study.data import LABELS
from study.spec import load_specs

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "preload"):
                self.hrefs.append(attrs[key])


def parse(path: Path) -> _Links:
    links = _Links()
    links.feed(path.read_text())
    return links


@pytest.fixture(scope="session")
def html(smoke_root, built_book) -> Path:
    assert built_book.returncode == 0, built_book.stdout[-2000:]
    return smoke_root / "_build" / "html"


def test_internal_links_and_anchors_resolve(html):
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)  # _static: theme templates
    parsed = {p: parse(p) for p in pages}
    broken = []
    for page, links in parsed.items():
        for href in links.hrefs:
            if urlparse(href).scheme or href.startswith(("//", "mailto:", "javascript:")):
                continue
            target, anchor = urldefrag(href)
            target = urlparse(target).path
            path = (page.parent / target).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page.relative_to(html)}: {href} (no such file)")
            elif anchor and path.suffix == ".html" and anchor not in parse(path).ids:
                broken.append(f"{page.relative_to(html)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken[:20])


@pytest.fixture(scope="session")
def site(html):
    """The built site served over HTTP on loopback, as a reader's browser would fetch it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run and `nox -s tests` install it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser, site):
    """A page that records console errors and refuses every request that leaves this machine."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = context.new_page()
    pg.errors, pg.outside = [], []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))

    def local_only(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            return route.continue_()
        pg.outside.append(route.request.url)
        return route.abort()

    pg.route("**/*", local_only)
    yield pg
    context.close()


def toc_pages(pg, site) -> list[str]:
    """The pages the site's navigation lists, from the front page."""
    pg.goto(site + "index.html")
    pg.wait_for_url(re.compile(r"book/intro\.html"))  # index.html redirects to the root page
    hrefs = pg.eval_on_selector_all("nav.bd-docs-nav a.reference.internal", "els => els.map(e => e.href)")
    return list(dict.fromkeys(urldefrag(h)[0] for h in hrefs))


def test_every_declared_page_loads_with_its_figures_and_no_errors(page, site, smoke_book):
    pages = toc_pages(page, site)
    assert [urlparse(p).path.lstrip("/").removesuffix(".html") for p in pages] == smoke_book.pages()
    for url in pages:
        page.goto(url, wait_until="load")
        images = page.eval_on_selector_all("main img", "els => els.map(e => [e.src, e.complete, e.naturalWidth])")
        assert images or url.endswith(("intro.html", "status.html")), f"{url}: no figures"
        unloaded = [src for src, complete, width in images if not complete or width == 0]
        assert not unloaded, f"{url}: images that did not load: {unloaded}"
        assert page.title()
    assert not page.errors, page.errors
    # text and figures came from this machine only; anything refused from outside is listed here
    assert not [u for u in page.outside if not u.startswith("data:")], page.outside


def test_navigation_between_model_pages_and_comparison(page, site, tmp_path):
    page.goto(site + "book/mnist-sample/models/model_01.html")
    assert "Model 1" in page.locator("h1").first.inner_text()
    page.locator("a.right-next").click()
    page.wait_for_url(re.compile(r"model_02\.html"))
    assert "Model 2" in page.locator("h1").first.inner_text()
    page.locator("nav.bd-docs-nav a", has_text="Conclusions").first.click()
    page.wait_for_url(re.compile(r"comparison\.html"))
    assert "claims" in page.locator("main").inner_text()
    page.locator("a.left-prev").click()
    page.wait_for_url(re.compile(r"model_10\.html"))
    page.goto(site + "book/mnist-sample/comparison.html")
    page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
    assert (tmp_path / "comparison.png").stat().st_size > 10_000
    assert not page.errors, page.errors


def test_search_finds_a_model_by_name(page, site):
    page.goto(site + "search.html?q=sigmoid")
    results = page.locator("#search-results li")
    results.first.wait_for(timeout=20_000)
    assert "Model 9" in page.locator("#search-results").inner_text()
    assert not page.errors, page.errors


def _plain(text: str) -> str:
    """Text with Sphinx's typographic apostrophes (smartquotes) as typed ones."""
    return text.replace("\u2019", "'")


def test_the_front_page_answers_first_which_claims_hold_on_which_dataset(browser, site, smoke_book):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.goto(site + "book/intro.html")
    table = pg.locator("main table").first
    datasets = [LABELS[d] for d in smoke_book.datasets_with_results()]
    assert [_plain(t) for t in table.locator("thead th").all_inner_texts()] == ["the seed report's claim", *datasets]
    rows = table.locator("tbody tr")
    assert rows.count() == len([s for s in load_specs().values() if s.seed_claim])
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        assert cells.count() == 1 + len(datasets)
        for j in range(1, cells.count()):
            href = cells.nth(j).locator("a").get_attribute("href")
            assert pg.request.get(urljoin(pg.url, href)).ok, href
    box = table.bounding_box()
    assert box["y"] + box["height"] <= 1000, "the findings do not fit the first screen of a 1400x1000 window"
    context.close()


CLAIMS_HEADER = "claim (seed report)"
PAGE_HEIGHT_LIMIT, ROW_HEIGHT_LIMIT = 8_000, 150


def test_each_conclusions_page_and_its_claims_rows_stay_short_at_a_laptop_width(browser, site, smoke_book):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    too_tall = []
    for dataset in smoke_book.datasets_with_results():
        pg.goto(site + f"book/{dataset}/comparison.html", wait_until="load")
        height = pg.evaluate("document.documentElement.scrollHeight")
        table = pg.locator("main table").filter(has=pg.locator("thead th", has_text=CLAIMS_HEADER))
        assert table.count() == 1, f"{dataset}: {table.count()} tables headed '{CLAIMS_HEADER}'"
        rows = table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
        sections = pg.eval_on_selector_all("main section > section", "ss => ss.map(s => "
                                           "`${s.id} ${Math.round(s.getBoundingClientRect().height)}`)")
        print(f"{dataset}/comparison.html at 1280 px: page {height} px, claims table "
              f"{table.bounding_box()['height']:.0f} px, {len(rows)} rows, tallest {max(rows, default=0):.0f} px; "
              f"sections (px): {', '.join(sections)}")
        if height > PAGE_HEIGHT_LIMIT or max(rows, default=0) > ROW_HEIGHT_LIMIT:
            too_tall.append(f"{dataset}: page {height} px, tallest claims row {max(rows, default=0):.0f} px")
    context.close()
    assert not too_tall, f"longer than {PAGE_HEIGHT_LIMIT} px or a row over {ROW_HEIGHT_LIMIT} px: {too_tall}"


def test_the_status_page_lists_every_page_of_the_book(page, site, smoke_book):
    page.goto(site + "book/status.html")
    listed = page.eval_on_selector_all("main table tbody tr td:first-child a", "els => els.map(e => e.href)")
    expected = [p for p in smoke_book.pages() if p != "book/status"]
    assert [urlparse(h).path.lstrip("/").removesuffix(".html") for h in listed] == expected
    computed = page.eval_on_selector_all("main table tbody tr td:last-child", "els => els.map(e => e.innerText)")
    assert len(computed) == len(expected) and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", c) for c in computed)


def test_no_page_shows_a_path_of_the_machine_that_built_it(html, smoke_root):
    private = [f"{Path.home()}/", str(Path(__file__).resolve().parent.parent), str(smoke_root)]
    found = [f"{p.relative_to(html)}: {s}" for p in html.rglob("*.html") if "_static" not in p.parts
             for s in private if s in p.read_text()]
    assert not found, found[:10]


def test_each_page_offers_its_executed_notebook_for_download(page, site, smoke_book):
    for document in ("book/intro", f"book/{SMOKE_DATASETS[0]}/models/model_01", f"book/{SMOKE_DATASETS[0]}/comparison"):
        page.goto(site + document + ".html")
        href = page.eval_on_selector("a[href$='.ipynb']", "e => e.href")
        notebook = nbformat.reads(page.request.get(href).text(), as_version=4)
        assert notebook.cells and "study" in notebook.metadata, document


def test_a_model_page_opens_with_its_question_and_ends_with_how_it_was_computed(page, site):
    page.goto(site + f"book/{SMOKE_DATASETS[0]}/models/model_01.html")
    text = _plain(page.locator("main").inner_text())
    assert text.index("Question.") < text.index("Architecture") < text.index("How this page was computed")
    assert "Show code cell content" not in text[: text.index("Architecture")]
    computed = text[text.index("How this page was computed"):]
    for item in ("inputs hash", "data SHA-256", "Keras' fit on tensorflow", "training time"):
        assert item in computed, item
    assert "347146" in text and "347146.0" not in text
