"""The ``k6`` validator: k6's own verdicts (script thresholds, ``test.fail()``) as checks.

The k6 driver records each threshold and k6's verdict in the scenario's details
(``details.<scenario>.k6.thresholds``); this validator turns them into checks with
``source: k6`` in the scenario's group, beside the targets file's own checks.

The k6 driver brings this validator along (``K6Driver.validators``): it runs whenever a
scenario uses ``driver: k6``, listed under ``validators:`` or not, so a crossed threshold is
always a failed check. Listing ``validators: {k6: {}}`` as well changes nothing.
"""

from __future__ import annotations

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
from perfgate_k6_driver.summary import ThresholdResult


def k6_checks(result: ResultDocument) -> list[Check]:
    """One check per k6 threshold, plus one when the script called ``test.fail()``."""
    checks = []
    for scenario, k6 in scenario_details(result, "k6").items():
        for doc in k6.get("thresholds") or []:
            checks.append(ThresholdResult(**doc).check(scenario))
        if k6.get("failed_by_script"):
            checks.append(Check(
                name=f"{scenario}.k6 test.fail()", metric="k6", verdict=Verdict.FAIL,
                group=scenario, scenario=scenario, source="k6",
                message="the k6 script marked the test as failed (exec.test.fail())"))
    return checks


class K6Validator(Validator[ComponentConfig]):
    """Reports the thresholds written in k6 scripts, with k6's own verdicts."""

    name = "k6"
    summary = "k6 script thresholds and test.fail() as checks, with k6's verdicts"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        return k6_checks(result)
