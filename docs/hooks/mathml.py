"""mkdocs hook: turn the math that pymdownx.arithmatex marks into MathML.

Browsers render MathML natively, so the site needs no math script and fetches
nothing from a third-party host. Inline math is ``<span class="arithmatex">\\(..\\)</span>``
and display math ``<div class="arithmatex">\\[..\\]</div>`` (arithmatex ``generic`` mode).
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


def _mathml(match: re.Match[str], display: str) -> str:
    return convert(html.unescape(match.group(1)).strip(), display=display)


def on_page_content(output: str, **kwargs: Any) -> str:
    output = BLOCK.sub(lambda m: _mathml(m, "block"), output)
    return INLINE.sub(lambda m: _mathml(m, "inline"), output)
