"""What the doctor returns: one :class:`Finding` per check, collected in a :class:`Report`.

A finding carries the measured evidence (``message``), the most likely ``cause`` and a ``fix``
with a code hint, so a report reads like the troubleshooting guide, but about *your* model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STATUSES = ("ok", "warn", "fail", "skip")
_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@dataclass
class Finding:
    id: str  # stable check id, e.g. "attention.softmax_axis"
    status: str  # ok | warn | fail | skip
    message: str  # what was measured (the evidence)
    cause: str = ""  # the most likely cause
    fix: str = ""  # what to do, with a code hint
    module: str | None = None  # the module at fault (dotted name), when known

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"Finding.status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Report:
    title: str
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding) -> Finding:
        self.findings.append(finding)
        return finding

    def extend(self, findings) -> None:
        self.findings.extend(findings)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "warn"]

    def get(self, finding_id: str) -> Finding | None:
        """The first finding with this id (None if that check did not run)."""
        return next((f for f in self.findings if f.id == finding_id), None)

    def ids(self, *statuses: str) -> set[str]:
        """Ids of the findings with one of these statuses (all statuses when none given)."""
        return {f.id for f in self.findings if not statuses or f.status in statuses}

    # ----- output ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"title": self.title, "ok": self.ok, "findings": [f.to_dict() for f in self.findings]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def table(self):
        from rich.table import Table

        table = Table(title=self.title, show_lines=True)
        for column in ("check", "status", "evidence", "cause / fix"):
            table.add_column(column, overflow="fold")
        for f in self.findings:
            evidence = f.message + (f"\n[dim]module: {f.module}[/dim]" if f.module else "")
            advice = "\n".join(part for part in (f.cause, f"[cyan]fix:[/cyan] {f.fix}" if f.fix else "") if part)
            table.add_row(f.id, f"[{_STYLE[f.status]}]{f.status}[/]", evidence, advice)
        return table

    def print(self, console=None) -> None:
        from rich.console import Console

        console = console or Console()
        console.print(self.table())
        verdict = "[green]no failures[/green]" if self.ok else f"[bold red]{len(self.failures)} failure(s)[/]"
        console.print(f"{verdict}, {len(self.warnings)} warning(s)")

    def __rich__(self):
        return self.table()

    def __str__(self) -> str:
        lines = [f"{self.title}: {'ok' if self.ok else 'FAILED'}"]
        for f in self.findings:
            where = f" [{f.module}]" if f.module else ""
            lines.append(f"  {f.status:>4}  {f.id}{where}: {f.message}")
            if f.status in ("warn", "fail") and f.fix:
                lines.append(f"        fix: {f.fix}")
        return "\n".join(lines)
