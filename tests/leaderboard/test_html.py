"""The static HTML page, opened in a real headless Chromium: the tables are in its DOM."""

import base64
import subprocess
from html.parser import HTMLParser

import matplotlib.image
import pytest

from robustbench_keras.leaderboard import render_html

CHROMIUM = "/usr/bin/chromium"
# A 1×1 PNG, so the page's relative <img> points at a real file.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class _DomTables(HTMLParser):
    """Collects every <table id=...> as rows of cell texts, plus tag names and image sources."""

    def __init__(self):
        super().__init__()
        self.tables, self.tags, self.images = {}, set(), []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs.get("src"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def _chromium(*arguments, profile):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *arguments],
        capture_output=True, text=True, timeout=180, check=True,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory, example_document):
    """(page text, Chromium's DOM of it, folder) for the example document with one figure."""
    folder = tmp_path_factory.mktemp("page")
    (folder / "figures").mkdir()
    (folder / "figures" / "table2.png").write_bytes(PIXEL_PNG)
    text = render_html(example_document, figures=[("Table 2 heatmap", "figures/table2.png")])
    (folder / "index.html").write_text(text, encoding="utf-8")
    dom = _chromium("--dump-dom", (folder / "index.html").as_uri(), profile=folder / "profile").stdout
    return text, dom, folder


def test_chromium_dom_has_every_table(page):
    _, dom, _ = page
    parsed = _DomTables()
    parsed.feed(dom)
    assert list(parsed.tables) == ["ranking", "table1", "table2", "table3", "table4", "table4_magnified", "table5",
                                   "spectral"]
    table1 = parsed.tables["table1"]
    assert table1[0] == ["Model", "Train error (%)", "Test error (%)", "Av. min. distortion", "Success rate (%)"]
    assert len(table1) == 1 + 6 + 1  # header, the paper's six models, the submission
    assert table1[1] == ["FC10(1e-4)", "6.7 | 7.1 | +0.4", "7.4 | 7.5 | +0.1", "0.062 | 0.065 | +0.003", "— | 95 | —"]
    assert table1[-1][0] == "My CNN"
    table2 = parsed.tables["table2"]
    assert table2[0][-2:] == ["My CNN", "Av. distortion"]
    assert [row[0] for row in table2[-2:]] == ["Gaussian noise, stddev=0.1", "Gaussian noise, stddev=0.3"]
    assert parsed.tables["table5"][1] == ["conv1", "3×11×11×96", "4", "2.75 | 3.00 | +0.25"]
    assert [row[2] for row in parsed.tables["ranking"][1:]] == ["my_cnn", "fc100_100_10_p1", "fc10_wd1e-4",
                                                                "fc100_100_10"]
    assert parsed.images == ["figures/table2.png"]


def test_page_is_static_and_self_contained(page):
    text, dom, _ = page
    parsed = _DomTables()
    parsed.feed(text)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "iframe" not in parsed.tags
    assert "http://" not in text and "https://" not in text
    assert 'src="figures/table2.png"' in text


def test_page_renders_to_a_screenshot(page):
    _, _, folder = page
    shot = folder / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,900", (folder / "index.html").as_uri(),
              profile=folder / "profile")
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels[..., :3].std() > 0.05  # text and table rules drawn, not a blank canvas
