"""Static PNG versions of report charts (Markdown and Notion need images; drawn with matplotlib, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from jobs.report.model import Report


def render_png(fig: Any, path: Path, *, title: str = "") -> Path:
    """Draw a plotly figure's heatmap or line traces with matplotlib (Agg) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traces = list(fig.data)
    heat = next((t for t in traces if t.type == "heatmap"), None)
    if heat is not None:
        names = list(heat.x)
        z = np.array([[np.nan if v is None else v for v in row] for row in heat.z], dtype=float)
        size = max(5.0, 0.45 * len(names) + 3)
        f, ax = plt.subplots(figsize=(size, size * 0.85))
        im = ax.imshow(z, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        f.colorbar(im, ax=ax, label="r")
    else:
        f, ax = plt.subplots(figsize=(9, 3.6))
        ax2 = None
        for t in traces:
            if t.type != "scatter" or t.x is None:
                continue
            target = ax
            if getattr(t, "yaxis", None) == "y2":
                ax2 = ax2 or ax.twinx()
                target = ax2
            ys = [np.nan if v is None else v for v in t.y]
            target.plot(list(t.x), ys, label=t.name, color=(t.line.color if t.line and t.line.color else None))
        handles = ax.get_legend_handles_labels()[0] + (ax2.get_legend_handles_labels()[0] if ax2 else [])
        if handles:
            ax.legend(handles=handles, fontsize=8, loc="upper left")
    ax.set_title(title or (fig.layout.title.text or ""), fontsize=10)
    f.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    f.savefig(path, dpi=110)
    plt.close(f)
    return path


def render_images(report: Report, folder: Path) -> list[Path]:
    """One PNG per ``Section.images`` entry, from the section's first figure."""
    out = []
    for sec in report.sections:
        for name, fig in zip(sec.images, sec.figures, strict=False):
            out.append(render_png(fig, folder / name, title=sec.title))
    return out


__all__ = ["render_images", "render_png"]
