"""The ``locust`` validator: worker loss and exceptions in tasks, each a check with a verdict.

The ``locust`` driver records in the scenario's details (``details.<scenario>.locust``) which
workers joined, which were lost and what the tasks raised; this validator turns that into two
checks per scenario, in the scenario's group:

- ``<scenario>.locust-workers``: ``pass`` when every expected worker joined and ran to the
  end; ``error`` when one was lost (its last report is missing, so counts are short: the run
  must be repeated, which says nothing about the service) or too few joined;
- ``<scenario>.locust-exceptions``: ``pass`` without exceptions; ``fail`` when tasks raised
  (a locustfile that throws did not do what it was written to do, often because the service
  answered something unexpected), with the most frequent message.

The driver brings this validator along (``LocustDriver.validators``).
"""

from __future__ import annotations

from typing import Any

from perfgate import (
    Check,
    ComponentConfig,
    MetricSet,
    ResultDocument,
    TargetsFile,
    Validator,
    Verdict,
    scenario_details,
)


def _workers_check(scenario: str, locust: dict[str, Any]) -> Check:
    workers = locust.get("workers") or []
    expected = int(locust.get("workers_expected") or 0)
    lost = [w for w in workers if w.get("lost")]
    verdict, message = Verdict.PASS, f"{len(workers)} of {expected} worker(s) ran to the end"
    if lost:
        names = ", ".join(f"{w['index']} ({w.get('exited') or 'no heartbeat'})" for w in lost)
        verdict = Verdict.ERROR
        message = (f"{len(lost)} of {len(workers)} worker(s) lost: {names}; the requests "
                   "of their last report are missing, so counts and rates are short: "
                   "run again")
    elif len(workers) < expected:
        verdict = Verdict.ERROR
        message = f"only {len(workers)} of {expected} worker(s) joined; nothing was run"
    return Check(name=f"{scenario}.locust-workers", metric="locust.workers_lost",
                 verdict=verdict, aggregation="count", measured=float(len(lost)),
                 group=scenario, scenario=scenario, source="locust", message=message)


def _exceptions_check(scenario: str, locust: dict[str, Any]) -> Check:
    rows = locust.get("exceptions") or []
    count = sum(int(r.get("count") or 0) for r in rows)
    verdict, message = Verdict.PASS, "no exception in tasks"
    if count:
        top = max(rows, key=lambda r: int(r.get("count") or 0))
        where = (top.get("traceback") or "").strip().splitlines()
        verdict = Verdict.FAIL
        message = (f"{count} exception(s) in tasks; the most frequent: {top.get('msg')} "
                   f"({top.get('count')}x{', ' + where[-2].strip() if len(where) > 1 else ''})")
    return Check(name=f"{scenario}.locust-exceptions", metric="locust.exceptions",
                 verdict=verdict, aggregation="count", measured=float(count),
                 group=scenario, scenario=scenario, source="locust", message=message)


class LocustValidator(Validator[ComponentConfig]):
    """Judges what only the locust driver knows: lost workers, exceptions in tasks."""

    name = "locust"
    summary = "Locust worker loss (error) and exceptions in tasks (fail) as checks"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        checks = []
        for scenario, locust in scenario_details(result, "locust").items():
            checks.append(_workers_check(scenario, locust))
            checks.append(_exceptions_check(scenario, locust))
        return checks
