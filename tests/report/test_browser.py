"""The report in a real headless browser (Chromium): screenshots and DOM checks at a
phone width (375 px) and on a desktop. Skips where Chromium is not installed
(`.ci/run` installs the Debian package when it runs as root)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import recsys as rs

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Appended to a copy of the page: measures the layout and writes the result into the DOM.
PROBE = """
<script>
window.addEventListener("load", () => {
  const doc = document.documentElement;
  const first = document.querySelector("#what-to-do").getBoundingClientRect();
  const imgs = [...document.images];
  const result = {
    width: window.innerWidth,
    scrollWidth: doc.scrollWidth,
    whatToDoTop: first.top,
    cards: document.querySelectorAll(".decisions .card").length,
    images: imgs.length,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    captions: document.querySelectorAll("table caption").length,
    tables: document.querySelectorAll("table").length,
    resources: performance.getEntriesByType("resource").map(r => r.name)
      .filter(n => !n.startsWith("data:")),
  };
  window.parent.postMessage(JSON.stringify(result), "*");
});
</script>
"""

# Headless Chromium will not make a window narrower than 500 px: the page is shown in
# an iframe of the wanted size (its own viewport, so the page's media queries apply).
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style>body{{margin:0}}iframe{{border:0;width:{width}px;height:{height}px}}</style></head>
<body><iframe src="{src}"></iframe><pre id="probe"></pre>
<script>window.addEventListener("message", e => {{
  document.getElementById("probe").textContent = e.data; }});</script></body></html>
"""


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no Chromium found (install the Debian package 'chromium'; .ci/run does so as root)"
    )


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The written page and the number of headline claims the job made (one card each)."""
    out = tmp_path_factory.mktemp("report")
    purchases, cleaning, names = rs.job.load_online_retail(sample_users=250)
    config = rs.job.JobConfig(bootstrap=20, currency="£", models=("popular", "repurchase"))
    result = rs.job.run(purchases, config, report=cleaning, item_names=names)
    return rs.report.write(result, out)["report"], len(result.claims)


@pytest.fixture(scope="module")
def report(job: tuple[Path, int]) -> Path:
    return job[0]


def _run(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-dev-shm-usage",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1280, 900)])
def test_report_in_a_real_browser(
    job: tuple[Path, int], tmp_path: Path, width: int, height: int
) -> None:
    browser = _browser()
    report, n_claims = job
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    frame = tmp_path / "frame.html"
    frame.write_text(FRAME.format(width=width, height=height, src=probed.name))
    window = f"--window-size={max(width, 500)},{height}"
    done = _run(browser, window, "--virtual-time-budget=5000", "--dump-dom", frame.as_uri())
    match = re.search(r'<pre id="probe">(.+?)</pre>', done.stdout, re.S)
    assert match, f"the page did not finish loading: {done.stderr[-500:]}"
    result = json.loads(match.group(1).replace("&quot;", '"'))
    assert result["width"] == width
    assert result["scrollWidth"] <= width, "the page scrolls sideways"
    assert result["whatToDoTop"] < height, "the decisions are not on the first screen"
    assert result["cards"] == n_claims  # every headline claim has its card
    assert result["images"] >= 5
    assert result["brokenImages"] == 0
    assert result["captions"] == result["tables"]  # every table says how to read it
    assert result["resources"] == [], "the page fetched something"

    shot = tmp_path / f"report-{width}.png"
    shown = tmp_path / "shown.html"
    shown.write_text(FRAME.format(width=width, height=height, src=report.as_uri()))
    done = _run(
        browser, window, "--virtual-time-budget=5000", f"--screenshot={shot}", shown.as_uri()
    )
    assert shot.exists(), done.stderr[-500:]
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
