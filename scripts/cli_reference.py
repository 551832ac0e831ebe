"""Print the CLI reference (every `covary` command with its options) as Markdown, from the live CLI."""

from __future__ import annotations

from typing import Any

import typer.main

from covary.cli import _register, app


def _walk(cmd: Any, path: list[str], out: list[str]) -> None:
    if hasattr(cmd, "commands"):
        for name in sorted(cmd.commands):
            _walk(cmd.commands[name], [*path, name], out)
        return
    doc = (cmd.help or "").strip().splitlines()
    opts = []
    for p in cmd.params:
        if getattr(p, "param_type_name", "") == "option":
            opts.append("/".join(p.opts))
        else:
            opts.append(p.name.upper() if p.name else "ARG")
    out.append(f"| `covary {' '.join(path)}` | {' '.join(f'`{o}`' for o in opts)} | {doc[0] if doc else ''} |")


def main() -> None:
    _register()
    root = typer.main.get_command(app)
    rows: list[str] = []
    _walk(root, [], rows)
    print("| command | arguments and options | what it does |\n| --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
