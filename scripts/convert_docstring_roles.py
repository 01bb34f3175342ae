"""Rewrite Sphinx roles in docstrings into Markdown that mkdocstrings renders.

mkdocstrings (numpy style) renders docstrings as Markdown: Sphinx roles such as
``:class:`Foo``` or ``:math:`x^2``` are printed literally. This script rewrites
them, mechanically and idempotently, so it can be re-run after merges:

* ``:math:`x``` -> ``$x$`` (rendered by ``pymdownx.arithmatex``);
* ``:class:`~recsys.a.B```, ``:func:``, ``:meth:``, ``:mod:``, ``:data:``,
  ``:attr:``, ``:exc:``, ``:obj:`` -> ```B``` (``~`` keeps the last component, as
  in Sphinx; ``title <target>`` keeps the title; ``!x`` drops the ``!``);
* a ``.. math::`` block -> a ``$$ ... $$`` block.

Usage::

    python scripts/convert_docstring_roles.py [--check] [PATH ...]   # default: recsys

``--check`` changes nothing and exits 1 when a file still holds a role.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROLE = re.compile(r":(?:py:)?(math|class|meth|func|mod|data|attr|exc|obj):`([^`]+)`")
MATH_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. math::[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+.*\n|[ \t]*\n)+)", re.M
)


def _name(target: str) -> str:
    target = target.strip().lstrip("!")
    titled = re.fullmatch(r"(.+?)\s*<(.+)>", target)
    if titled:
        return titled.group(1).strip()
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target


def _replace_role(match: re.Match[str]) -> str:
    role, body = match.group(1), match.group(2)
    if role == "math":
        return f"${body.strip()}$"
    return f"`{_name(body)}`"


def _replace_math_block(match: re.Match[str]) -> str:
    indent = match.group("indent")
    lines = [line.strip() for line in match.group("body").splitlines() if line.strip()]
    return f"{indent}$$\n" + "".join(f"{indent}{line}\n" for line in lines) + f"{indent}$$\n\n"


def convert(text: str) -> str:
    """``text`` with every role and math block rewritten."""
    return ROLE.sub(_replace_role, MATH_BLOCK.sub(_replace_math_block, text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["recsys"])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args(argv)
    files = sorted(
        f
        for p in map(Path, args.paths)
        for f in ([p] if p.is_file() else p.rglob("*.py"))
        if f.suffix == ".py"
    )
    changed = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = convert(text)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "hold Sphinx roles" if args.check else "rewritten"
    for path in changed:
        print(f"{path}: {verb}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
