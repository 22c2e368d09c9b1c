"""Where the commands write: one console for answers (stdout), one for messages (stderr)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(width=max(Console().width, 120))
err_console = Console(stderr=True)


def write_json(payload: Any) -> None:
    """One JSON document on one line of stdout (machine-readable: no colours, no wrapping)."""
    sys.stdout.write(json.dumps(payload) + "\n")


def print_items(items: list[dict[str, Any]], title: str) -> None:
    """A ranked item list (an answer's ``recommendations`` or ``items``) as a table."""
    table = Table(title=title)
    for col in ("rank", "item_id", "name", "brand", "score"):
        table.add_column(col, justify="right" if col in ("rank", "score") else "left")
    for row in items:
        table.add_row(
            str(row["rank"]),
            row["item_id"],
            str(row.get("name") or ""),
            str(row.get("brand") or ""),
            f"{row['score']:.4f}",
        )
    console.print(table)


def print_fields(values: dict[str, Any], title: str, key_header: str = "field") -> None:
    """Named values (statistics, one prediction's fields) as a two-column table."""
    table = Table(title=title)
    table.add_column(key_header)
    table.add_column("value", justify="right")
    for key, value in values.items():
        table.add_row(key, cell(value))
    console.print(table)


def cell(value: Any) -> str:
    """A value as a table cell: thousands separators, 4 significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)
