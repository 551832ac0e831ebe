"""The report's data model (sections, figures, image names), shared by ``render`` and ``images``.

It sits below both so neither imports the other: ``render`` builds a :class:`Report` and calls
``images.render_images``; ``images`` only needs the model's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import plotly.graph_objects as go


@dataclass
class Section:
    title: str
    markdown: str
    figures: list[go.Figure] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # PNG file names next to the Markdown


@dataclass
class Report:
    report_id: str
    title: str
    period_start: date
    summary: list[str]
    sections: list[Section]
    alerts: list[dict[str, Any]]


__all__ = ["Report", "Section"]
