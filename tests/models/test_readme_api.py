"""The README's "Library API" snippet runs as written (on the sample shop's interactions)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def library_snippet() -> str:
    """The first python block of the README's "## Library API" section."""
    section = README.read_text().split("## Library API", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README's Library API section has no python block"
    return match.group(1)


def test_readme_library_snippet_runs(
    shop_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data" / "shop").mkdir(parents=True)
    shutil.copy(shop_dir / "interactions.csv", tmp_path / "data" / "shop" / "interactions.csv")
    monkeypatch.chdir(tmp_path)
    exec(compile(library_snippet(), str(README), "exec"), {"__name__": "readme"})
    assert (tmp_path / "models" / "my-als" / "LATEST").is_file()
