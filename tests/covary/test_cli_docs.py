"""The documentation matches the CLI: every `covary ...` command and flag in README sections and docs/ exists,
and docs/cli.md is what scripts/cli_reference.py generates from the live CLI."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer.main

from covary.cli import _register, app

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([*ROOT.glob("docs/readme/*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("*/README.md")])
GLOBAL = {"--help", "--debug"}


def _tree() -> Any:
    _register()
    return typer.main.get_command(app)


def _commands(text: str) -> list[tuple[str, list[str]]]:
    """``(where, argv)`` of every shell line that runs covary (after ``$``, in code blocks and inline code)."""
    out = []
    candidates = re.findall(r"`(covary [^`\n]+)`", text)
    in_block = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            candidates.append(line.strip().removeprefix("$ "))
    for cand in candidates:
        for piece in re.split(r"\s*(?:\|\||&&|\||;)\s*", cand):
            part = re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)+", "", piece.strip())  # VAR=value prefixes
            if not part.startswith("covary "):
                continue
            try:
                argv = shlex.split(part.split(" #")[0])
            except ValueError:
                continue
            out.append((part, argv[1:]))
    return out


def _resolve(root: Any, argv: list[str]) -> tuple[Any, list[str], list[str]]:
    cmd, path = root, []
    rest = list(argv)
    while hasattr(cmd, "commands") and rest and rest[0] in cmd.commands:
        path.append(rest[0])
        cmd = cmd.commands[rest.pop(0)]
    return cmd, path, rest


def test_every_documented_flag_exists() -> None:
    root = _tree()
    root_opts = {o for p in root.params for o in p.opts}
    problems, checked = [], 0
    for doc in DOCS:
        for line, argv in _commands(doc.read_text(encoding="utf-8")):
            if not argv or argv[0].startswith("<") or argv[0] in ("...", "…"):
                continue
            cmd, path, rest = _resolve(root, argv)
            if hasattr(cmd, "commands"):
                if rest and re.fullmatch(r"[a-z][a-z0-9-]*", rest[0]):  # not `apply/status`, `<verb>`, `...`
                    problems.append(f"{doc.name}: `{line}`: no command {' '.join([*path, rest[0]])!r}")
                continue
            known = GLOBAL | root_opts | {o for p in cmd.params for o in [*p.opts, *p.secondary_opts]}
            for tok in rest:
                if tok.startswith("--") and len(tok) > 2:
                    flag = tok.split("=", 1)[0]
                    checked += 1
                    if flag not in known:
                        problems.append(f"{doc.name}: `{line}`: covary {' '.join(path)} has no {flag}")
    assert checked > 20, "the scan found almost no documented flags: the parser is broken"
    assert not problems, "\n".join(problems)


def test_scan_catches_a_wrong_flag() -> None:
    root = _tree()
    ((_, argv),) = _commands("```\n$ covary job run reconcile --config '{}'\n```")
    cmd, path, _ = _resolve(root, argv)
    assert path == ["job", "run"] and "--config" not in {o for p in cmd.params for o in p.opts}


def test_cli_reference_is_current() -> None:
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py")], capture_output=True, text=True, check=True
    ).stdout
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert generated.strip() in current, "docs/cli.md is stale: run .venv/bin/python scripts/cli_reference.py --write"
