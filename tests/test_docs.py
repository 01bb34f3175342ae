"""The documentation site builds, and every page is rendered: no raw Sphinx roles, no
unrendered math, nothing fetched from a third-party host."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW_ROLE = re.compile(r":(?:py:)?(?:math|class|meth|func|mod|data|attr|exc|obj):`")
# Links a reader clicks are fine; what the page *loads* by itself is not.
LOADED = re.compile(
    r"""<(?:script|img|iframe)[^>]*\ssrc\s*=\s*["'](?:https?:)?//|"""
    r"""<link[^>]*rel=["'](?:stylesheet|preconnect|preload)["'][^>]*href=["'](?:https?:)?//|"""
    r"""@import\s+url\(["']?(?:https?:)?//"""
)


def test_docstrings_hold_no_sphinx_roles() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from convert_docstring_roles import convert
    finally:
        sys.path.pop(0)
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "recsys").rglob("*.py"))
        if convert(text := path.read_text(encoding="utf-8")) != text
    ]
    assert not offenders, (
        f"Sphinx roles in {offenders}: run python scripts/convert_docstring_roles.py"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists() and shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install 'recsys[dev]')")
    out = tmp_path_factory.mktemp("site")
    command = [str(mkdocs) if mkdocs.exists() else "mkdocs", "build", "--quiet", "-d", str(out)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    return pages


def test_built_pages_render_roles_and_math(site: Path) -> None:
    bad = []
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        if RAW_ROLE.search(text):
            bad.append(f"{page.relative_to(site)}: raw role {RAW_ROLE.search(text).group(0)!r}")
        if "$$" in text:
            bad.append(f"{page.relative_to(site)}: unrendered $$")
        if 'class="arithmatex"' in text:  # docs/hooks/mathml.py turns these into MathML
            bad.append(f"{page.relative_to(site)}: math left as TeX source")
    assert not bad, "\n".join(bad)


def test_built_pages_fetch_nothing_from_third_parties(site: Path) -> None:
    bad = [
        f"{page.relative_to(site)}: {match.group(0)!r}"
        for page in _pages(site)
        for match in [LOADED.search(page.read_text(encoding="utf-8"))]
        if match
    ]
    for css in site.rglob("*.css"):
        if match := LOADED.search(css.read_text(encoding="utf-8", errors="replace")):
            bad.append(f"{css.relative_to(site)}: {match.group(0)!r}")
    assert not bad, "\n".join(bad)
