"""What every reporter derives from a result document the same way.

Reports must not disagree: the console, Markdown, JUnit and HTML reports all say the same
headline (:func:`headline`) and name each check the same way (:func:`check_labels`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from perfgate.result import Check, ResultDocument

#: Words of a headline, best first; the first five are also check verdicts.
OUTCOMES = ("pass", "warn", "fail", "error", "skip", "interrupted", "broken")


@dataclass(frozen=True)
class Headline:
    """The one-line outcome of a run, as every report states it.

    ``outcome`` is the checks' verdict when it alone explains the exit code; otherwise what
    does: ``fail`` (warnings fail this gate, ``--fail-on warn``), ``interrupted`` (a signal
    stopped the run) or ``broken`` (the run could not measure, or a reporter failed).
    """

    outcome: str
    verdict: str  # the checks' verdict
    exit_code: int

    @property
    def word(self) -> str:
        """``PASS``, ``WARN``, ``FAIL``, ``ERROR``, ``INTERRUPTED``, ``BROKEN``."""
        return self.outcome.upper()

    @property
    def explained(self) -> bool:
        """Whether the checks' verdict is the outcome (no exit code needs saying)."""
        return self.outcome == self.verdict

    def lead(self, title: str = "perfgate") -> str:
        """``perfgate: PASS``, or ``perfgate: FAIL (exit 1)`` when the checks' verdict is not
        the outcome."""
        if self.explained:
            return f"{title}: {self.word}"
        return f"{title}: {self.word} (exit {self.exit_code})"

    def text(self, title: str = "perfgate") -> str:
        """``perfgate: PASS``, or ``perfgate: FAIL (exit 1) — checks: warn``."""
        if self.explained:
            return self.lead(title)
        return f"{self.lead(title)} — checks: {self.verdict}"


def headline(result: ResultDocument) -> Headline:
    """The headline of ``result``: never a pass over a failing exit code."""
    verdict = str(result.verdict)
    status = str(result.run.get("status", "completed"))
    code = result.exit_code
    if status == "interrupted":
        outcome = "interrupted"
    elif status == "broken" or code not in (0, 1):
        outcome = "broken"
    elif code == 1 and verdict not in ("fail", "error"):
        outcome = "fail"  # warnings fail this gate
    else:
        outcome = verdict
    return Headline(outcome, verdict, code)


def run_status_line(result: ResultDocument) -> str | None:
    """What a report says, under its headline, of a run that did not go its whole length:
    interrupted, broken, or its load stopped by an ``abort_on_fail`` check. None otherwise."""
    status = str(result.run.get("status", "completed"))
    if status == "interrupted":
        return "The run was interrupted: this report covers what was measured until then."
    if status == "broken":
        return "The run broke: this report covers what was measured before it did."
    aborted = result.run.get("aborted")
    if isinstance(aborted, dict):
        after = aborted.get("after")
        when = f" {float(after):.1f} s in" if isinstance(after, int | float) else ""
        return (f"The load was stopped{when} by check {aborted.get('check')!r} "
                f"(abort_on_fail): {aborted.get('message')}. This report covers what was "
                "measured until then.")
    return None


def check_labels(checks: Sequence[Check]) -> list[str]:
    """The name each check shows under in a report, in order, told apart.

    A scenario's own target shows with its scenario in front (``ramp/latency``): target
    names need only be unique within their section, so ``latency`` under ``ramp`` and under
    ``open`` are two checks; a built-in check already named after its owner
    (``load.driver-health``) stays as it is. A name that two checks still share gets its
    scenario in front too, or else its group.
    """
    labels = [_owned(c.name, c.scenario) if c.group == c.scenario else c.name for c in checks]
    for prefix in ("scenario", "group"):
        seen = Counter(labels)
        for i, check in enumerate(checks):
            if seen[labels[i]] > 1:
                labels[i] = _owned(labels[i], getattr(check, prefix))
    return labels


def _owned(name: str, owner: str | None) -> str:
    """``owner/name``, unless the name already starts with its owner (a component's
    built-in checks are named so: ``load.driver-health``)."""
    if not owner or name.startswith((f"{owner}/", f"{owner}.")):
        return name
    return f"{owner}/{name}"
