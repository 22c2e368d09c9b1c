"""The leaderboard of ``--model auto``: every trial and skipped family, and why the winner won."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.table import Table

#: Trial states: fitted and scored, skipped before fitting, or failed while fitting.
COMPLETE, SKIPPED, FAILED = "complete", "skipped", "failed"


@dataclass
class Trial:
    """One candidate: a family with parameters, its validation value and what it cost."""

    number: int
    family: str
    params: dict[str, Any]
    value: float = math.nan
    fit_seconds: float = 0.0
    estimated_seconds: float = 0.0
    status: str = COMPLETE
    reason: str = ""
    round: int = 0
    changed: dict[str, Any] = field(default_factory=dict)  # what differs from the defaults

    def record(self) -> dict[str, Any]:
        """JSON-ready form (NaN as null) for the manifest."""
        out = asdict(self)
        out["value"] = None if not math.isfinite(self.value) else round(self.value, 6)
        out["fit_seconds"] = round(self.fit_seconds, 3)
        out["estimated_seconds"] = round(self.estimated_seconds, 3)
        return out


@dataclass
class Leaderboard:
    """All trials in the order they ran, ranked on demand by the validation metric."""

    metric: str
    higher_is_better: bool = True
    trials: list[Trial] = field(default_factory=list)
    validation: str = ""  # how the validation slice was carved, in words
    notes: list[str] = field(default_factory=list)
    #: number of the trial picked over the first slice's best (a near tie settled on the mean
    #: of several validation slices); None: the best trial wins
    chosen: int | None = None

    def add(self, trial: Trial) -> Trial:
        """Append a trial and return it."""
        self.trials.append(trial)
        return trial

    def complete(self) -> list[Trial]:
        """Scored trials, best first (ties keep the order they ran)."""
        done = [t for t in self.trials if t.status == COMPLETE and math.isfinite(t.value)]
        sign = -1.0 if self.higher_is_better else 1.0
        return sorted(done, key=lambda t: (sign * t.value, t.number))

    def best(self, family: str | None = None) -> Trial | None:
        """The best scored trial (of ``family`` when given)."""
        ranked = [t for t in self.complete() if family is None or t.family == family]
        return ranked[0] if ranked else None

    def winner(self) -> Trial | None:
        """The trial the search picked: :attr:`chosen` when set, else the best."""
        return self.trials[self.chosen] if self.chosen is not None else self.best()

    def best_per_family(self) -> list[Trial]:
        """Each family's best trial, best family first."""
        seen: set[str] = set()
        out = []
        for trial in self.complete():
            if trial.family not in seen:
                seen.add(trial.family)
                out.append(trial)
        return out

    def skipped(self) -> list[Trial]:
        """Families (or trials) skipped or failed, with their reasons."""
        return [t for t in self.trials if t.status != COMPLETE]

    def why(self) -> str:
        """One sentence: the winner, its margin over the runner-up family and over popularity."""
        families = self.best_per_family()
        win = self.winner()
        if not families or win is None:
            return "no trial finished"
        if win is families[0]:
            text = f"{win.family} has the best validation {self.metric} ({win.value:.4f})"
        else:
            text = f"{win.family} ({win.value:.4f} on the first slice) won on the slices' mean"
        others = [t for t in families if t.family != win.family]
        if others:
            text += f", ahead of {others[0].family} ({others[0].value:.4f})"
        popular = self.best("popularity")
        if popular is not None and win.family != "popularity" and popular.value:
            change = 100 * (win.value / popular.value - 1)
            text += f" and {change:+.0f}% against popularity ({popular.value:.4f})"
        return text

    def to_json(self) -> dict[str, Any]:
        """The manifest's ``selection`` entry."""
        best = self.winner()
        return {
            "metric": self.metric,
            "validation": self.validation,
            "winner": None if best is None else best.record(),
            "why": self.why(),
            "notes": list(self.notes),
            "leaderboard": [t.record() for t in self.complete()]
            + [t.record() for t in self.skipped()],
        }


def leaderboard_table(selection: dict[str, Any], top: int = 12) -> Table:
    """A rich table of a manifest ``selection`` entry: best trials, then skipped families."""
    metric = selection.get("metric", "metric")
    rows = selection.get("leaderboard", [])
    table = Table(title=f"model selection: {metric} on validation ({selection.get('validation')})")
    for col in ("rank", "family", "params (changed)", metric, "fit s", "status"):
        right = col in ("rank", metric, "fit s")
        table.add_column(col, justify="right" if right else "left", overflow="fold")
    done = [r for r in rows if r.get("status") == COMPLETE]
    won = (selection.get("winner") or {}).get("number", done[0]["number"] if done else None)
    shown, families = [], set()
    for row in done:  # every family's best, then the best remaining trials
        if row["family"] not in families:
            families.add(row["family"])
            shown.append(row)
    shown += [r for r in done if r not in shown][: max(top - len(shown), 0)]
    shown.sort(key=lambda r: done.index(r))
    for row in shown:
        value = row.get("value")
        table.add_row(
            str(done.index(row) + 1),
            row["family"],
            json.dumps(row.get("changed") or {}, default=str) if row.get("changed") else "defaults",
            "-" if value is None else f"{value:.4f}",
            f"{row.get('fit_seconds', 0):.2f}",
            "winner" if row.get("number") == won else "",
        )
    for row in rows:
        if row.get("status") != COMPLETE:
            table.add_row("-", row["family"], "", "-", "-", f"{row['status']}: {row['reason']}")
    notes = "".join(f"; {note}" for note in selection.get("notes", []))
    table.caption = f"{selection.get('why', '')}; {len(done)} trials{notes}"
    return table
