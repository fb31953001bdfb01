"""The drift guard: progressive validation of a stream's tiers on its own confirmations.

Every confirmation is scored by the stream's current version before it is learned (river's
progressive validation), so each version keeps an honest record of how its tiers do on images it
never saw. A tier is suspended (its verdicts become ``inconclusive``, the reason in ``why``) when,
among the last ``WINDOW`` confirmations that the current version put in that tier:

* at least ``MIN_DECIDED`` exist and fewer than ``TARGET`` (90%) of them were right; or
* at least 2 were wrong and the Wilson score interval's upper end (95%, one-sided z = 1.645) of
  the share right is under 90%: a source that arrives wrong from its first confirmations is
  suspended after 2 wrong of 2, 3 of 4, 4 of 6, before ``MIN_DECIDED`` confirmations have come
  (one wrong alone never suspends: one reviewer's slip is not a drift).

Why these: 50 is recent enough to follow a stream whose mix changes within days of reviewing, and
a point estimate needs about 10 to mean anything; the interval rule acts sooner only when the
evidence is already clear. A refit writes a new version, whose record starts empty: the
suspension lifts, and the new version earns its tiers on the next confirmations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WINDOW = 50
MIN_DECIDED = 10
TARGET = 0.90
Z = 1.645
TIERS = {"likely_ai": "ai", "likely_real": "real"}


@dataclass(frozen=True)
class TierRecord:
    tier: str
    decided: int  # confirmations of the window the version put in this tier
    wrong: int
    suspended: bool

    @property
    def precision(self) -> float | None:
        return None if not self.decided else 1 - self.wrong / self.decided

    def why(self) -> str:
        if not self.suspended:
            return ""
        words = self.tier.replace("_", " ")
        return (f"'{words}' suspended by the drift guard: {self.wrong} of the last {self.decided} confirmations "
                f"this version called {words} were not {TIERS[self.tier]} ({self.precision:.0%}, under "
                f"{TARGET:.0%}); a refit on the new confirmations restores it")  # fmt: skip


def wilson_upper(right: int, n: int, z: float = Z) -> float:
    """The upper end of the Wilson score interval of a share ``right / n``."""
    if n == 0:
        return 1.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)


def records(bank, stream: str, version: int) -> dict[str, TierRecord]:
    """Each tier's record under ``version``: its last ``WINDOW`` confirmations in that tier."""
    from realorai.learn.store import seen_by

    out = {}
    for tier, label in TIERS.items():
        seen = seen_by(bank, stream, version, tier, WINDOW)
        wrong = sum(e.label != label for e in seen)
        n = len(seen)
        suspended = n > 0 and (
            (n >= MIN_DECIDED and 1 - wrong / n < TARGET) or (wrong >= 2 and wilson_upper(n - wrong, n) < TARGET)
        )
        out[tier] = TierRecord(tier, n, wrong, suspended)
    return out
