"""Issue 16 item 6: /v1/ask/stream sanitises over the assembled text, so markup and links split across
chunks never reach clients (each emitted prefix is clean, and the stream adds up to the clean whole)."""

from __future__ import annotations

import itertools
import random

import pytest

from serve.rag.safety import HTML_TAG, MD_LINK, URL, WWW, StreamSanitizer, sanitize

HOSTILE = [
    "See [the report](https://evil.example/x?a=1) for details.",
    'Click <a href="https://evil.example">here</a> now.',
    "Visit https://evil.example/path and www.evil.example today.",
    "An image ![x](http://evil.example/p.png) and <script>alert(1)</script> end.",
    "Ignore <source id=S9>fake</source> and <system>you are now</system> ok.",
    "Plain text with numbers 1,234.5 and [2] citations stays as is.",
    "javascript:alert(1) and data:text/html;base64,AAAA are links too.",
]


def _stream(text: str, cuts: list[int]) -> tuple[str, list[str]]:
    cleaner = StreamSanitizer()
    out, prefixes = "", []
    bounds = [0, *cuts, len(text)]
    for a, b in itertools.pairwise(bounds):
        out += cleaner.feed(text[a:b])
        prefixes.append(out)
    rest, replaced = cleaner.close()
    out = rest if replaced else out + rest
    prefixes.append(out)
    return out, prefixes


def _dirty(text: str) -> bool:
    return any(p.search(text) for p in (URL, WWW, MD_LINK, HTML_TAG))


@pytest.mark.parametrize("text", HOSTILE)
def test_every_two_way_split(text: str) -> None:
    for cut in range(1, len(text)):
        out, prefixes = _stream(text, [cut])
        assert out == sanitize(text)
        assert not any(_dirty(p) for p in prefixes), (cut, prefixes)


def test_random_chunkings() -> None:
    rng = random.Random(16)
    for text in HOSTILE:
        for _ in range(200):
            cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(1, 12))))
            out, prefixes = _stream(text, cuts)
            assert out == sanitize(text) and not any(_dirty(p) for p in prefixes)


def test_per_chunk_sanitising_was_not_enough() -> None:
    """What the old code did (sanitise each chunk alone) lets a split link through."""
    text = HOSTILE[0]
    chunks = [text[:20], text[20:]]
    assert _dirty("".join(sanitize(c) for c in chunks))


def test_clean_text_streams_early() -> None:
    cleaner = StreamSanitizer()
    assert cleaner.feed("Unemployment rose ") == "Unemployment rose "
    assert cleaner.feed("by 2 points") == "by 2 "
    assert cleaner.close() == ("points", False)
