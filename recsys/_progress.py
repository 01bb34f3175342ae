"""Progress bars: tqdm's notebook widget in a Jupyter kernel with ipywidgets, text elsewhere.

The choice ``tqdm.auto`` makes, made here at each call and without importing
``tqdm.auto``: that module decides once, at its import, and warns in a notebook
without ipywidgets, so importing it from recsys would change what the user's own
``from tqdm.auto import tqdm`` does. Importing recsys imports no tqdm module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm.std import tqdm as Bar

__all__ = ["tqdm"]


def _in_notebook() -> bool:
    """True in a Jupyter kernel that can show ipywidgets (not qtconsole or Spyder)."""
    if "ipykernel.zmqshell" not in sys.modules:
        return False
    if any(name == "QT_API" or name.startswith("SPYDER") for name in os.environ):
        return False
    return importlib.util.find_spec("ipywidgets") is not None


def tqdm(*args: Any, **kwargs: Any) -> Bar[Any]:
    """A tqdm bar (``tqdm.notebook.tqdm`` in a notebook with widgets, else ``tqdm.std.tqdm``).

    Examples
    --------
    >>> from recsys._progress import tqdm
    >>> sum(tqdm(range(4), disable=True))
    6
    """
    if _in_notebook():
        from tqdm.notebook import tqdm as bar
    else:
        from tqdm.std import tqdm as bar
    return bar(*args, **kwargs)
