"""The package version (leaf modules import it from here, never from the root package)."""

__version__ = "0.1.0"
