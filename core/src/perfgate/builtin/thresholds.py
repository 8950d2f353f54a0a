"""The built-in ``thresholds`` validator: judges every target of the targets file."""

from __future__ import annotations

from perfgate import (
    Check,
    ComponentConfig,
    MetricSet,
    Register,
    ResultDocument,
    TargetsFile,
    Validator,
    hookimpl,
)
from perfgate.judge import judge
from perfgate.targets import Owner


class ThresholdsValidator(Validator[ComponentConfig]):
    """Checks each target's ``target`` and ``critical`` expressions against the metrics."""

    name = "thresholds"
    summary = "judge each target against its target and critical thresholds"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        broken: dict[Owner, list[str]] = {}
        for error in result.errors:
            owner = Owner(error["role"], error["component"])
            broken.setdefault(owner, []).append(error["message"])
        for scenario in result.scenarios:
            if scenario["status"] == "failed" and scenario["error"]:
                messages = broken.setdefault(Owner("load_driver", scenario["name"]), [])
                if scenario["error"] not in messages:
                    messages.append(scenario["error"])
        not_run = scenarios_not_run(result)
        skipped = frozenset(not_run)
        checks = []
        for t in targets.targets:
            if t.target is None and t.critical is None:  # baseline-only: not ours
                continue
            producers = targets.producers_of(t.metric, t.tags.get("scenario"),
                                             t.tags.get("instance"))
            checks.append(judge(t, metrics, broken=broken, producers=producers,
                                skipped_scenarios=skipped, why_not_run=not_run,
                                skipped_with=_skipped_with(targets, producers, skipped)))
        return checks


def _skipped_with(targets: TargetsFile, producers: list[Owner],
                  skipped: frozenset[str]) -> str | None:
    """The skipped scenario that every producer (``during:`` collectors) measures with."""
    scenarios = {targets.collectors[p.name].during if p.role == "collector" else None
                 for p in producers}
    if len(scenarios) == 1 and (scenario := scenarios.pop()) in skipped:
        return scenario
    return None


def scenarios_not_run(result: ResultDocument) -> dict[str, str]:
    """Scenarios that were not run on purpose → why: left out with ``--only``, or never
    started because the load was stopped first (a signal, ``abort_on_fail``). One that could
    not start because something broke is not here: its checks are errors that say why."""
    out = {}
    for s in result.scenarios:
        if s["status"] == "skipped":
            out[s["name"]] = "--only"
        elif s["status"] in ("interrupted", "aborted") and s.get("started") is None:
            out[s["name"]] = f"run {s['status']}"
    return out


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(ThresholdsValidator)
