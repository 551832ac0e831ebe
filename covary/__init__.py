"""covary: a lakehouse that finds which series really move together."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
