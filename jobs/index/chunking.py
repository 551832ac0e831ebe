"""Split documents into passages: paragraphs packed up to a size limit, long paragraphs split at sentences."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*-])")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (a light rule: end punctuation followed by a capital, digit or bullet)."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            out.extend(s.strip() for s in SENTENCE_END.split(line) if s.strip())
    return out


def chunk_text(text: str, *, max_chars: int = 900) -> list[str]:
    """Chunks of at most ``max_chars`` (a single longer sentence stays whole), in document order."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for para in paragraphs:
        if len(para) <= max_chars:
            pieces.append(para)
            continue
        current = ""
        for line in para.splitlines():
            units = [line] if len(line) <= max_chars else split_sentences(line)
            for unit in units:
                if current and len(current) + len(unit) + 1 > max_chars:
                    pieces.append(current)
                    current = ""
                current = f"{current}\n{unit}" if current else unit
        if current:
            pieces.append(current)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) + 2 > max_chars:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


__all__ = ["chunk_text", "split_sentences"]
