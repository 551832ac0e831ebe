"""Assemble README.md from the section files in docs/readme/ (in file-name order)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build() -> str:
    parts = [p.read_text(encoding="utf-8").strip() for p in sorted((ROOT / "docs" / "readme").glob("*.md"))]
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    (ROOT / "README.md").write_text(build(), encoding="utf-8")
    print("README.md written")
