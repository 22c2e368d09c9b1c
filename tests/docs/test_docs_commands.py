"""Every command the README and docs/ show works as written (issue 11, item 7).

Shell blocks marked runnable (``<!-- runnable -->`` on the line before the fence) run in order,
one temporary folder per page, with the installed ``nextbuy`` on the PATH; the others (servers,
downloads, long benchmarks, ``curl`` against a running server) are not run, but every
``nextbuy`` command in them must name a real command and only options it has.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "<!-- runnable -->"
SHELLS = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a page: where it starts, whether it runs, its text."""

    page: Path
    line: int
    runnable: bool
    text: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def shell_blocks(page: Path) -> list[Block]:
    """The page's fenced bash/sh blocks, in order."""
    lines = page.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or not match.group(2):
            i += 1
            continue
        start, lang = i, match.group(2).lower()
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if lang in SHELLS:
            before = next((x.strip() for x in reversed(lines[:start]) if x.strip()), "")
            blocks.append(Block(page, start + 1, before == MARKER, "\n".join(body) + "\n"))
    return blocks


def commands(text: str) -> list[list[str]]:
    """Each ``nextbuy ...`` invocation of a shell block as tokens (continuations joined,
    comments, redirections and what follows ``|``, ``&&`` or ``;`` left out)."""
    joined = re.sub(r"\\\n", " ", re.sub(r"<<'?(\w+)'?\n.*?\n\1\n", "\n", text, flags=re.S))
    out = []
    for line in joined.splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # an unbalanced quote in prose-like lines: not a command
            continue
        for start, token in enumerate(tokens):
            if token == "nextbuy" or token.endswith("/nextbuy"):
                rest = []
                for tok in tokens[start + 1 :]:
                    if tok in ("|", "||", "&&", ";", ">", ">>", "2>", "&") or tok.endswith(";"):
                        break
                    rest.append(tok.strip("[]"))
                out.append(rest)
                break
    return out


def _cli() -> Any:
    import typer.main

    from nextbuy.cli import app

    return typer.main.get_command(app)


ALL_BLOCKS = [block for page in PAGES for block in shell_blocks(page)]
RUNNABLE_PAGES = sorted({block.page for block in ALL_BLOCKS if block.runnable})


def test_the_readme_marks_its_tour_runnable() -> None:
    readme = [b for b in ALL_BLOCKS if b.page.name == "README.md" and b.runnable]
    shown = sum(len(commands(b.text)) for b in readme)
    assert len(readme) >= 3 and shown >= 15, [str(b) for b in readme]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=str)
def test_every_nextbuy_command_shown_exists_with_its_options(block: Block) -> None:
    root = _cli()
    for tokens in commands(block.text):
        command, words = root, list(tokens)
        while hasattr(command, "commands") and words and not words[0].startswith("-"):
            name = words.pop(0)
            assert name in command.commands, f"{block}: `nextbuy {' '.join(tokens)}`: no {name!r}"
            command = command.commands[name]
        known = {
            opt: param
            for param in command.params
            for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("-")
        }
        for word in words:
            if not word.startswith("-") or word == "-":
                continue
            option = word.split("=", 1)[0]
            assert option in known, f"{block}: `nextbuy {' '.join(tokens)}`: no option {option}"
            assert not getattr(known[option], "hidden", False), (
                f"{block}: {option} is a hidden alias; use its name"
            )


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_runnable_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEXTBUY_")} | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    for block in (b for b in shell_blocks(page) if b.runnable):
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"{block} exited {proc.returncode}\n--- block\n{block.text}--- stdout\n"
            f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
