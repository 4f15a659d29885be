"""The run's search budget: how many Spotify searches one run may still make (DESIGN §5).

One `SearchBudget` is made per run and every piece of code that searches during that run draws
from it (resolving new chart rows, rows left over from earlier runs, retried misses, re-resolving
expired rows), so no input, however large, can spend more than the budget in one run: the rows
it leaves wait for the next run, oldest charts first.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from spotify_tophits.matching import ExplicitPolicy, Outcome, resolution_key, resolve

if TYPE_CHECKING:
    from spotify_tophits.charts import ChartRow
    from spotify_tophits.matching import Search
    from spotify_tophits.store import Store

DEFAULT_SEARCH_BUDGET = 500
MAXIMUM_SEARCH_BUDGET = 10_000

Result = TypeVar("Result")


class SearchBudgetSpent(Exception):
    """Raised instead of searching once the run's search budget is spent (caught by the update story)."""


class SearchBudget:
    """A counter of the searches one run may still make; `guard` wraps a search so it draws from it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    @property
    def remaining(self) -> int:
        """How many searches this run may still make."""
        return max(0, self.limit - self.spent)

    @property
    def exhausted(self) -> bool:
        """Whether no search is left for this run."""
        return self.remaining == 0

    def spend(self) -> None:
        """Count one search, or raise SearchBudgetSpent when none is left (nothing is counted then)."""
        if self.exhausted:
            raise SearchBudgetSpent(f"the run's search budget of {self.limit} is spent")
        self.spent += 1

    def describe_waiting(self, rows: int) -> str:
        """Return the warning for `rows` chart rows left unresolved because this budget is spent."""
        return (
            f"{rows} chart rows wait for the next run: the run's search budget"
            f" ({self.limit} searches, `search_budget` in config.toml) is spent"
        )

    def guard(self, search: Callable[[str], Sequence[Result]]) -> Callable[[str], Sequence[Result]]:
        """Return `search` drawing one from this budget per call (SearchBudgetSpent once it is empty)."""

        def guarded(query: str) -> Sequence[Result]:
            self.spend()
            return search(query)

        return guarded

    def resolve(
        self,
        search: Search,
        row: ChartRow,
        store: Store,
        now: datetime.datetime,
        policy: ExplicitPolicy = ExplicitPolicy.AS_CHARTED,
    ) -> Outcome:
        """Resolve a row with `search` (which must draw from this budget) while searches are left. Once the
        budget is spent the row is returned unresolved (method "unresolved") and nothing is cached, so a
        later run resolves it; a row the cache or its source answers costs nothing and is still resolved."""
        try:
            return resolve(row, None if self.exhausted else search, store, now, policy)
        except SearchBudgetSpent:
            return Outcome(resolution_key(row, policy), None, "unresolved", 0.0, 0, False)
