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


class ThresholdsValidator(Validator[ComponentConfig]):
    """Checks each target's ``target`` and ``critical`` expressions against the metrics."""

    name = "thresholds"
    summary = "judge each target against its target and critical thresholds"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        broken: dict[str, list[str]] = {}
        for error in result.errors:
            broken.setdefault(error["component"], []).append(error["message"])
        for scenario in result.scenarios:
            if scenario["status"] == "failed" and scenario["error"]:
                messages = broken.setdefault(scenario["name"], [])
                if scenario["error"] not in messages:
                    messages.append(scenario["error"])
        skipped = frozenset(s["name"] for s in result.scenarios if s["status"] == "skipped")
        return [
            judge(t, metrics, broken=broken,
                  producers=targets.producers_of(t.metric, t.tags.get("scenario"),
                                                 t.tags.get("instance")),
                  skipped_scenarios=skipped)
            for t in targets.targets
            if t.target is not None or t.critical is not None  # baseline-only: not ours
        ]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(ThresholdsValidator)
