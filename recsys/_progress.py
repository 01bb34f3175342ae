"""Progress bars: tqdm's notebook widget where ipywidgets is installed, text bars elsewhere.

``tqdm.auto`` warns ("IProgress not found") when it is first imported in a notebook
without ipywidgets, and falls back to the text bar. recsys imports it here first,
with that warning silenced, before anything else (implicit too) imports it, so no
warning reaches a notebook's output; the bars are the same.
"""

from __future__ import annotations

import warnings

from tqdm.std import TqdmWarning

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
