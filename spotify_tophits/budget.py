"""The run's search budget: how many Spotify searches one run may still make (DESIGN §5).

One `SearchBudget` is made per run and every piece of code that searches during that run draws
from it (resolving new chart rows, rows left over from earlier runs, retried misses, re-resolving
expired rows), so no input, however large, can spend more than the budget in one run: the rows
it leaves wait for the next run, oldest charts first.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from spotify_tophits.charts import ChartRow
from spotify_tophits.matching import ExplicitPolicy, Outcome, resolution_key, resolve

if TYPE_CHECKING:
    from spotify_tophits.matching import Search
    from spotify_tophits.store import Store

DEFAULT_SEARCH_BUDGET = 500
MAXIMUM_SEARCH_BUDGET = 10_000


class SearchBudgetSpent(Exception):
    """Raised instead of searching once the run's search budget is spent (caught by the update story)."""


class SearchBudget:
    """A counter of the searches one run may still make; the run's search calls `spend` before each one."""

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


def rekey_for_policy(store: Store, since: datetime.date, policy: ExplicitPolicy) -> int:
    """Point the chart rows since `since` whose match is not known to be clean at the key the policy gives them
    now, and return how many keys moved.

    A cached match was chosen under the policy of its day: after a switch to prefer-clean or clean-only, an
    explicit match (or one made before ratings were kept) may have a clean twin. The moved rows have no
    resolution under their new key (unless another row cached it), so the run's unresolved-rows step resolves
    them again through the search budget, oldest charts first; until then a ranking leaves them out.
    """
    if policy is ExplicitPolicy.AS_CHARTED:
        return 0
    moved = 0
    for values in store.matches_not_known_clean(since):
        old_key = values.pop("resolution_key")
        new_key = resolution_key(ChartRow(**values), policy)
        if new_key != old_key:
            store.rekey_rows(old_key, new_key)
            moved += 1
    return moved
