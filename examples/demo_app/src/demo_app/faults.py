"""Known misbehaviour on demand: a fixed delay and a deterministic share of failures."""

from __future__ import annotations

import math
from fractions import Fraction

MAX_DELAY_MS = 60_000


def parse_delay_ms(raw: str | None, default: float = 100.0) -> float:
    """The ``ms`` query value: a number of milliseconds in 0..60000."""
    if raw is None:
        return default
    try:
        ms = float(raw)
    except ValueError:
        raise ValueError(f"ms must be a number of milliseconds, got {raw!r}") from None
    if not 0 <= ms <= MAX_DELAY_MS:
        raise ValueError(f"ms must be between 0 and {MAX_DELAY_MS}, got {raw!r}")
    return ms


def parse_percent(raw: str | None, default: str = "10") -> Fraction:
    """The ``fail`` query value (``10``, ``2.5``, ``10%``) as an exact fraction in 0..1."""
    text = (raw if raw is not None else default).strip().removesuffix("%")
    try:
        pct = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"fail must be a percentage, got {raw!r}") from None
    if not 0 <= pct <= 100:
        raise ValueError(f"fail must be between 0 and 100, got {raw!r}")
    return pct / 100


class FailureSchedule:
    """Decides which requests fail so that exactly ``floor(n * share)`` of the first n do.

    Each share has its own request counter, and failures are spread evenly: with a share of
    10%, requests 10, 20, 30... fail. The outcome depends only on how many requests with that
    share came before, so any run of N requests sees the same number of failures.
    """

    def __init__(self) -> None:
        self._served: dict[Fraction, int] = {}

    def next_fails(self, share: Fraction) -> bool:
        """Count one request with ``share`` and say whether it fails."""
        n = self._served.get(share, 0)
        self._served[share] = n + 1
        return math.floor((n + 1) * share) > math.floor(n * share)

    def served(self, share: Fraction) -> int:
        """How many requests with ``share`` were decided so far."""
        return self._served.get(share, 0)
