"""The JUnit XML document of a result: suites of test cases, one test case per check.

::

    <testsuites name="perfgate" tests=.. failures=.. errors=.. time=..>
      <testsuite name="perfgate" timestamp=.. hostname=.. time=..>   one per run or scenario
        <properties>  run id, verdict, exit code, targets file hash, versions, warnings
                      (a scenario suite: run id, scenario name, warnings)
        <testcase classname="<check group>" name="<check name>" time="0.000" timestamp=..>
          <failure|error|skipped type="<verdict>" message="<measured, thresholds, verdict>">
                      (a red check on http.* or checks also lists why requests failed)
          <system-out>  what was measured against what (a failure or error holds it instead)
        <testcase classname="perfgate" name="run">   when the run broke or was interrupted, or
                      its exit code is non-zero for another reason than a red check
        <system-out>  notes on measurement      <system-err>  problems met during the run

A ``fail`` is a ``<failure>``, an ``error`` an ``<error>``, a ``skip`` a ``<skipped>``; a
``warn`` passes, visibly (a ``perfgate.warning`` property and the system-out text), unless
warnings fail the gate (``--fail-on warn`` or the ``fail_on_warn`` option): then it is a
``<failure>`` too. Every failing exit code of perfgate thus shows as a red test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from perfgate import (
    Check,
    MetricSet,
    ResultDocument,
    ThresholdOutcome,
    check_labels,
    check_line,
    check_results,
    failure_lines,
    format_value,
    headline,
    request_failures,
)
from perfgate_junit._xml import element, seconds, serialise, timestamp


@dataclass(frozen=True)
class Window:
    """When something was measured: start (epoch seconds) and length (seconds)."""

    started: float | None = None
    duration: float | None = None

    @classmethod
    def of_scenario(cls, info: Mapping[str, Any]) -> Window:
        start, end = info.get("started"), info.get("finished")
        return cls(start, end - start if start is not None and end is not None else None)


@dataclass
class Suite:
    """The checks of one ``<testsuite>`` and when its measurements were taken."""

    name: str
    window: Window
    checks: list[Check] = field(default_factory=list)
    run_level: bool = False


def _threshold(which: str, outcome: ThresholdOutcome | None, unit: str) -> str | None:
    if outcome is None:
        return None
    text = f"{which}: {outcome.expression}"
    if outcome.limit is not None:
        text += f" (limit {format_value(outcome.limit, unit)})"
    if outcome.passed is not None:
        text += " met" if outcome.passed else " missed"
    else:
        text += " not evaluated"
    return text


def _facts(check: Check) -> list[str]:
    """The measurement: metric, measured value, and each threshold with its outcome."""
    measured = format_value(check.measured, check.unit)
    if check.aggregation and check.measured is not None:
        measured = f"{check.aggregation} = {measured}"
    lines = [f"metric: {check.metric}", f"measured: {measured}"]
    lines += [line for line in (_threshold("target", check.target, check.unit),
                                _threshold("critical", check.critical, check.unit)) if line]
    return lines


def describe(check: Check) -> list[str]:
    """What a check measured against what, and its verdict, one fact a line."""
    lines = [f"check: {check.name}", *_facts(check), f"verdict: {check.verdict.value}"]
    if check.message:
        lines.append(f"message: {check.message}")
    if check.description:
        lines.append(f"description: {check.description}")
    lines.append(f"source: {check.source}")
    return lines


def summary_line(check: Check) -> str:
    """One line for a ``message`` attribute: the verdict, then the check's own message (which
    states measured value and thresholds), or else the facts."""
    return f"{check.verdict.value.upper()}: " + (check.message or "; ".join(_facts(check)))


def why_failed(metrics: MetricSet, scenario: str | None) -> list[str]:
    """Why requests failed (``failed requests: GET /x: 404 × 14,239, timeout × 3``) and
    which response checks did not always hold, in ``scenario`` (or the whole run)."""
    lines = [f"failed requests: {line}"
             for line in failure_lines(request_failures(metrics, scenario))]
    lines += [f"failed check: {check_line(c)}" for c in check_results(metrics, scenario)
              if c.fails]
    return lines


def _about_requests(check: Check) -> bool:
    """Whether a check judges requests or response checks, whose failures explain it."""
    name = check.metric.split("{", 1)[0]
    return name.startswith("http.") or name == "checks"


def _testcase(check: Check, label: str, when: Window, warn_fails: bool,
              metrics: MetricSet) -> ET.Element:
    # The class name is the check's group: a scenario's own `latency` is `latency` in class
    # `ramp`; two checks of one group with the same name (`latency vs baseline` of two
    # scenarios) keep the scenario the label puts in front.
    name = label.removeprefix(f"{check.group}/")
    # A check takes no time of its own: judging is instant. Its scenario's length as its
    # time would add up to more than the run (CI shows a 16 s suite as 94 s); the timestamp
    # still says when what it judged was measured.
    case = element("testcase", classname=check.group, name=name, time=seconds(0.0),
                   timestamp=timestamp(when.started))
    verdict = check.verdict.value
    lines = describe(check)
    if _red(check, warn_fails) and _about_requests(check):
        lines += why_failed(metrics, check.scenario)
    details = "\n".join(lines)
    if verdict == "fail" or (verdict == "warn" and warn_fails):
        case.append(element("failure", details, type=verdict, message=summary_line(check)))
    elif verdict == "error":
        case.append(element("error", details, type=verdict, message=summary_line(check)))
    else:
        if verdict == "skip":
            case.append(element("skipped", type=verdict, message=check.message or "skipped"))
        prefix = "WARNING: target missed\n" if verdict == "warn" else ""
        case.append(element("system-out", prefix + details))
    return case


def _problem(error: Mapping[str, Any]) -> str:
    """One line for a problem met during the run."""
    return (f"{error.get('role')} {error.get('component')} ({error.get('phase')}): "
            f"{error.get('message')}")


def _red(check: Check, warn_fails: bool) -> bool:
    """Whether the check's test case is a ``<failure>`` or an ``<error>``."""
    verdict = check.verdict.value
    return verdict in ("fail", "error") or (verdict == "warn" and warn_fails)


def _explained(code: int, checks: Iterable[Check], warn_fails: bool) -> bool:
    """Whether the checks' own red test cases account for exit code ``code``: 1 when one
    failed (the gate failed), 3 when one is an error (a metric was never measured because a
    component broke)."""
    if code == 0:
        return True
    if code == 1:
        return any(_red(c, warn_fails) for c in checks)
    if code == 3:
        return any(c.verdict.value == "error" for c in checks)
    return False


def _run_case(result: ResultDocument, when: Window, warn_fails: bool) -> ET.Element | None:
    """A test case for the run itself when the checks do not explain the exit code.

    An interrupted or broken run always has one; so has any other non-zero exit code that
    no red check explains (exit 3 after a reporter failed, for example), so CI never shows
    green for a job that failed.
    """
    status = str(result.run.get("status", "completed"))
    code = result.exit_code
    if status in ("interrupted", "broken"):
        kind = status
        headline = (f"the run {'was interrupted' if status == 'interrupted' else 'broke'} "
                    f"(exit code {code})")
    elif _explained(code, result.checks, warn_fails):
        return None
    elif code == 3:
        kind, headline = "broken", f"the run broke (exit code {code})"
    else:
        kind, headline = "error", f"perfgate exited with code {code}, which no check explains"
    lines = [headline]
    lines += [f"scenario {s.get('name')} failed: {s.get('error') or 'no reason given'}"
              for s in result.scenarios if s.get("status") == "failed"]
    lines += [_problem(e) for e in result.errors]
    case = element("testcase", classname="perfgate", name="run", time=seconds(when.duration),
                   timestamp=timestamp(when.started))
    case.append(element("error", "\n".join(lines), type=kind, message=lines[0]))
    return case


def _run_properties(result: ResultDocument) -> list[tuple[str, Any]]:
    run, env = result.run, result.environment
    facts: list[tuple[str, Any]] = [
        ("perfgate.run_id", run.get("id")),
        ("perfgate.headline", headline(result).text()),
        ("perfgate.verdict", result.verdict),
        ("perfgate.exit_code", result.exit_code),
        ("perfgate.status", run.get("status")),
        ("perfgate.fail_on", run.get("fail_on")),
        ("perfgate.targets_file", run.get("targets_file")),
        ("perfgate.targets_sha256", run.get("targets_sha256")),
        ("perfgate.time_scale", run.get("time_scale")),
        ("perfgate.version", env.get("perfgate")),
        ("perfgate.python", env.get("python")),
        ("perfgate.platform", env.get("platform")),
    ]
    facts += [(f"perfgate.plugin.{p.get('name')}",
               f"{p.get('distribution') or '?'} {p.get('version') or '?'}")
              for p in env.get("plugins") or []]
    return facts


def _properties(facts: Iterable[tuple[str, Any]], checks: Iterable[Check]) -> ET.Element:
    """Facts plus a ``perfgate.warning`` per check that warned."""
    props = element("properties")
    warnings = [("perfgate.warning", f"{c.name}: {c.message or c.metric}")
                for c in checks if c.verdict.value == "warn"]
    for name, value in [*facts, *warnings]:
        if value is not None:
            props.append(element("property", name=name, value=value))
    return props


def _suites(result: ResultDocument, group_by: str, name: str,
            scenarios: Mapping[str, Window]) -> list[Suite]:
    run = result.run
    whole = Suite(name, Window(run.get("started"), run.get("duration")), run_level=True)
    if group_by == "run":
        whole.checks = list(result.checks)
        return [whole]
    by_scenario = {n: Suite(n, window) for n, window in scenarios.items()}
    for check in result.checks:
        if check.scenario is None:
            whole.checks.append(check)
        else:
            by_scenario.setdefault(check.scenario, Suite(check.scenario, Window())) \
                .checks.append(check)
    return [whole] + [s for s in by_scenario.values() if s.checks]


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    count = {tag: sum(1 for c in cases if c.find(tag) is not None)
             for tag in ("failure", "error", "skipped")}
    return {"tests": str(len(cases)), "failures": str(count["failure"]),
            "errors": str(count["error"]), "skipped": str(count["skipped"])}


def build(result: ResultDocument, *, group_by: str = "run", fail_on_warn: bool = False,
          suite_name: str = "perfgate") -> ET.Element:
    """The ``<testsuites>`` element of ``result``.

    :param group_by: ``run`` for one test suite, ``scenario`` for one per scenario (checks
        that belong to no scenario stay in the run's suite).
    :param fail_on_warn: a ``warn`` is a ``<failure>`` (also when the run had ``--fail-on warn``).
    :param suite_name: the name of the run's suite and of ``<testsuites>``.
    """
    warn_fails = fail_on_warn or result.run.get("fail_on") == "warn"
    host = result.environment.get("host")
    root = element("testsuites", name=suite_name, time=seconds(result.run.get("duration")))
    run_facts = _run_properties(result)
    all_cases: list[ET.Element] = []
    scenarios = {str(s.get("name")): Window.of_scenario(s) for s in result.scenarios}
    outcomes = result.metric_set("http.req_failed", "checks")
    labels = {id(c): label for c, label in zip(result.checks, check_labels(result.checks),
                                              strict=True)}
    for index, suite in enumerate(_suites(result, group_by, suite_name, scenarios)):
        # A check's timestamp is its scenario's start when it has one, else its suite's.
        cases = [_testcase(c, labels.get(id(c), c.name),
                           scenarios.get(c.scenario or "", suite.window), warn_fails, outcomes)
                 for c in suite.checks]
        if suite.run_level:
            run_case = _run_case(result, suite.window, warn_fails)
            cases += [run_case] if run_case is not None else []
        node = element("testsuite", name=suite.name, **_counts(cases),
                       time=seconds(suite.window.duration),
                       timestamp=timestamp(suite.window.started),
                       hostname=host, id=index, package=suite_name)
        facts = run_facts if suite.run_level else [
            ("perfgate.run_id", result.run.get("id")), ("perfgate.scenario", suite.name)]
        node.append(_properties(facts, suite.checks))
        node.extend(cases)
        if suite.run_level and result.notes:
            node.append(element("system-out", "\n".join(f"note: {n}" for n in result.notes)))
        if suite.run_level and result.errors:
            node.append(element("system-err", "\n".join(map(_problem, result.errors))))
        root.append(node)
        all_cases += cases
    totals = _counts(all_cases)
    for key in ("tests", "failures", "errors"):
        root.set(key, totals[key])
    return root


def render(result: ResultDocument, **options: Any) -> str:
    """The JUnit XML text of ``result``; ``options`` as for :func:`build`."""
    return serialise(build(result, **options))
