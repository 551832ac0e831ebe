"""Retrieved text is data: sanitise it, delimit it for LLMs, spot causal questions and check numbers are grounded."""

from __future__ import annotations

import re
from collections.abc import Iterable

URL = re.compile(r"\b(?:https?|ftp|file|javascript|data):[^\s<>()\]\"']+", re.I)
WWW = re.compile(r"\bwww\.[^\s<>()\]\"']+", re.I)
MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
DELIMS = re.compile(r"<{1,}\s*/?\s*(source|sources|system|instructions?)\b[^>]*>{0,}", re.I)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?%?")
CITE = re.compile(r"\[\d+(?:,\s*\d+)*\]")

CAUSAL = re.compile(
    r"\b(why|cause[sd]?|causing|causal|because|due to|driv(e|es|en|ing|er|ers)|lead(s)? to|led to|result(s|ed)? in|"
    r"effect(s)? of|impact(s|ed)?|affect(s|ed)?|reason(s)?|responsible|explain(s)?)\b",
    re.I,
)

CAVEAT = (
    "Correlation is not causation: the sources show that these series move together (and which one tends to move "
    "first), not why. Lead/lag and Granger tests show temporal precedence only; a third factor may drive both."
)


INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules)\b|\b(you are now|act as|system prompt)\b|"
    r"\b(drop|delete|truncate|insert|update|alter|grant)\s+(table|from|into|schema|database)\b|"
    r"\b(run|execute)\s+(this|the following)\s+(sql|query|command)\b|\bcall\s+the\s+\w+\s+tool\b",
    re.I,
)


def looks_like_instruction(sentence: str) -> bool:
    """Text that tries to instruct the assistant (prompt injection) or carries a write statement."""
    return bool(INSTRUCTION.search(sentence))


def is_causal(question: str) -> bool:
    """Does the question ask about causes ("why did X change", "does X cause Y")?"""
    return bool(CAUSAL.search(question))


def sanitize(text: str) -> str:
    """Plain text with no links, markup or delimiter look-alikes (retrieved text can never become a link).

    Repeated until nothing changes, so a replacement can never combine with what follows into a new
    construct (``javascript:x(1)`` -> ``[link removed](1)`` would otherwise be a Markdown link)."""
    for _ in range(5):
        before = text
        text = MD_LINK.sub(lambda m: m.group(1), text)
        text = HTML_TAG.sub("", text)
        text = URL.sub("[link removed]", text)
        text = WWW.sub("[link removed]", text)
        text = DELIMS.sub("[delimiter removed]", text)
        if text == before:
            break
    return text


_OPENERS = re.compile(r"<|!?\[")


def _stable_cut(raw: str) -> int:
    """Where the stable part of a stream ends: before the last word (a URL never holds whitespace) and
    before any ``<`` or ``[`` whose tag / Markdown link may still be completed by later chunks."""
    cut = max(raw.rfind(" "), raw.rfind("\n"), raw.rfind("\t")) + 1
    for m in _OPENERS.finditer(raw):
        start = m.start()
        if start >= cut:
            break
        rest = raw[start:]
        if rest.startswith("<"):
            closed = ">" in rest
        else:
            link = re.match(r"!?\[[^\]]*\](\([^)]*\))?", rest)
            closed = link is not None and (link.group(1) is not None or len(link.group(0)) < len(rest))
        if not closed:
            return start
    return cut


class StreamSanitizer:
    """Sanitises a token stream over the assembled text: ``feed`` returns the next piece safe to emit
    (text whose sanitised form can no longer change), ``close`` the rest. Markup and links split across
    chunks are removed exactly as in the whole text; nothing is emitted that a later chunk could turn
    into a link or a tag."""

    def __init__(self) -> None:
        self.raw = ""
        self.emitted = ""

    def feed(self, chunk: str) -> str:
        self.raw += chunk
        clean = sanitize(self.raw[: _stable_cut(self.raw)])
        if not clean.startswith(self.emitted):
            return ""  # a construct spanning the cut changed; wait for the whole text
        delta, self.emitted = clean[len(self.emitted) :], clean
        return delta

    def close(self) -> tuple[str, bool]:
        """(the rest to emit, replaced): ``replaced`` means the emitted text must be replaced by ``text``."""
        final = sanitize(self.raw)
        if final.startswith(self.emitted):
            delta, self.emitted = final[len(self.emitted) :], final
            return delta, False
        self.emitted = final
        return final, True

    @property
    def text(self) -> str:
        return sanitize(self.raw)


def delimit(n: int, title: str, citation: str, text: str) -> str:
    """One source block for an LLM prompt; the text inside is sanitised so it cannot close the block."""
    safe_title = sanitize(title).replace('"', "'")
    return f'<source id="S{n}" title="{safe_title}" cite="{citation}">\n{sanitize(text)}\n</source>'


def numbers(text: str) -> list[str]:
    """Numbers mentioned in ``text`` (citation markers like [2] excluded), normalised for comparison."""
    return [_norm(m.group(0)) for m in NUMBER.finditer(CITE.sub(" ", text))]


def ungrounded_numbers(answer: str, sources: Iterable[str]) -> list[str]:
    """Numbers in ``answer`` that appear in none of ``sources`` (an answer must not invent numbers)."""
    known = {n for s in sources for n in numbers(s)}
    return sorted({n for n in numbers(answer) if n not in known})


def _norm(token: str) -> str:
    return token.rstrip("%").replace(",", "").lstrip("+")


__all__ = [
    "CAVEAT",
    "StreamSanitizer",
    "delimit",
    "is_causal",
    "looks_like_instruction",
    "numbers",
    "sanitize",
    "ungrounded_numbers",
]
