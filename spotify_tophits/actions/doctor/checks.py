"""What a doctor check says: one line, ✓ / ! / ✗, with the fix for anything that is not ✓."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator


class Level(enum.StrEnum):
    """A check passed (OK), needs a look (WARNING) or failed (ERROR: doctor exits 1)."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    category: str
    level: Level
    message: str
    fix: str | None = None


@dataclasses.dataclass(frozen=True)
class Fixed:
    """Something `--fix` did (a directory created, a mode tightened, a stale lock file removed)."""

    text: str


Finding = Check | Fixed
Findings = Iterator[Finding]


@dataclasses.dataclass
class DoctorReport:
    """The checks in order, and what `--fix` did."""

    checks: list[Check]
    fixed: list[str]

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> DoctorReport:
        """Return the report of a sequence of checks and fixes, in order."""
        items = list(findings)
        return cls(
            [item for item in items if isinstance(item, Check)],
            [item.text for item in items if isinstance(item, Fixed)],
        )

    def count(self, level: Level) -> int:
        return sum(1 for check in self.checks if check.level == level)

    def exit_code(self, strict: bool) -> int:
        """1 when a check failed (or, with `strict`, warned), else 0."""
        return 1 if self.count(Level.ERROR) or (strict and self.count(Level.WARNING)) else 0
