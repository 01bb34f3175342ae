"""Progress bars: tqdm's notebook widget where ipywidgets is installed, text bars elsewhere.

``tqdm.auto`` warns ("IProgress not found") in a notebook without ipywidgets; this
picks the text bar there instead, so no warning reaches the output.
"""

from __future__ import annotations

from typing import Any

__all__ = ["tqdm"]


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """A tqdm progress bar (same arguments as ``tqdm.tqdm``)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        from tqdm.std import tqdm as text_bar

        return text_bar(*args, **kwargs)
    from tqdm.auto import tqdm as auto_bar

    return auto_bar(*args, **kwargs)
