"""The built-in ``console`` reporter: a table of checks and a one-line verdict on stdout."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import TextIO

from tabulate import tabulate

from perfgate import (
    ComponentConfig,
    MetricSet,
    Register,
    Reporter,
    ResultDocument,
    check_labels,
    check_line,
    check_results,
    failure_lines,
    format_value,
    headline,
    hookimpl,
    request_failures,
    slowest_requests,
)
from perfgate.result import ScenarioRecord
from perfgate.units import plural

COLOURS = {"pass": "32", "warn": "33", "fail": "31", "error": "35", "skip": "90",
           "interrupted": "35", "broken": "35"}
SYMBOLS = {"pass": "✓", "warn": "!", "fail": "✗", "error": "E", "skip": "-"}


class ConsoleConfig(ComponentConfig):
    #: Colour verdicts: ``auto`` (when stdout is a terminal and NO_COLOR is unset), or a bool.
    color: bool | None = None
    #: Also print a line per scenario with its request count and rate, and the trace id of
    #: each endpoint's slowest traced request (the http driver's ``trace:``).
    scenarios: bool = True


def use_colour(stream: TextIO, setting: bool | None) -> bool:
    if setting is not None:
        return setting
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def render(result: ResultDocument, colour: bool = False, scenarios: bool = True) -> str:
    """The console report as text."""

    def paint(verdict: str, text: str) -> str:
        return f"\x1b[{COLOURS[verdict]}m{text}\x1b[0m" if colour else text

    rows = []
    labels = check_labels(result.checks)
    for c, label in zip(result.checks, labels, strict=True):
        v = c.verdict.value
        rows.append([
            paint(v, f"{SYMBOLS[v]} {v.upper()}"), label, c.metric,
            f"{c.aggregation} = {format_value(c.measured, c.unit)}"
            if c.measured is not None else "-",
            c.target.expression if c.target else "",
            c.critical.expression if c.critical else "",
        ])
    lines = []
    if rows:
        lines.append(tabulate(rows, headers=["verdict", "check", "metric", "measured", "target",
                                             "critical"], tablefmt="simple"))
    problems = [(c, label) for c, label in zip(result.checks, labels, strict=True)
                if c.verdict.value in ("fail", "error", "warn")]
    if problems:
        lines.append("")
        for c, label in problems:  # first lines only: errors below are printed whole, once
            first = c.message.splitlines()[0] if c.message else ""
            lines.append(paint(c.verdict.value, f"{c.verdict.value.upper()} {label}: {first}"))
    if scenarios and result.scenarios:
        lines.append("")
        outcomes = result.metric_set("http.req_failed", "checks")
        slowest = slowest_requests(result)
        for scenario in result.scenarios:
            lines.append(_scenario_line(result, scenario))
            lines += _outcome_lines(outcomes, scenario["name"], paint)
            for endpoint, kept in slowest.get(scenario["name"], {}).items():
                top = kept[0]
                lines.append(f"  slowest {endpoint}: {format_value(top.duration_ms, 'ms')} "
                             f"({top.status}), trace {top.trace_id}")
    for e in result.errors:
        lines.append(paint("error", f"error in {e['role']} {e['component']} ({e['phase']}): "
                                    f"{e['message']}"))
    for note in result.notes:
        lines.append(f"note: {note}")
    s = result.summary
    counts = ", ".join(f"{s.get(k, 0)} {k}" for k in ("pass", "warn", "fail", "error", "skip")
                       if s.get(k))
    duration = result.run.get("duration")
    took = f" in {duration:.1f}s" if isinstance(duration, int | float) else ""
    checks = f"{plural(s.get('checks', 0), 'check')}: {counts or 'none'}{took}"
    head = headline(result)
    lines.append(paint(head.outcome, f"{head.lead()} — {checks}"))
    return _printable("\n".join(lines))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]|\x1b(?!\[[0-9;]*m)")


def _printable(text: str) -> str:
    """Drop control characters from names and messages; keep our own colour codes."""
    return _CONTROL.sub("", text)


def _scenario_line(result: ResultDocument, s: ScenarioRecord) -> str:
    text = f"scenario {s['name']} ({s['driver']}): {s['status']}"
    merged = result.metric_set("http.reqs").combined("http.reqs", {"scenario": s["name"]})
    if merged is not None:
        # The rate a check on http.reqs judges: per second of the driver's load window.
        rate = merged.aggregate("rate")
        text += f", {int(merged.aggregate('count') or 0)} requests"
        text += f", {rate:.1f}/s" if rate is not None else ""
    if s.get("error"):
        text += f" — {s['error']}"
    return text


def _outcome_lines(metrics: MetricSet, scenario: str,
                   paint: Callable[[str, str], str]) -> list[str]:
    """Under a scenario's line: why its requests failed, then its response checks."""
    lines = [f"  failed requests: {line}"
             for line in failure_lines(request_failures(metrics, scenario))]
    for check in check_results(metrics, scenario):
        lines.append("  " + paint("pass" if check.fails == 0 else "fail", check_line(check)))
    return lines


class ConsoleReporter(Reporter[ConsoleConfig]):
    """Prints the checks as a table, problems with their messages, and the verdict."""

    name = "console"
    summary = "table of checks and a one-line verdict on stdout"

    def report(self, result: ResultDocument, stream: TextIO | None = None) -> None:
        out = stream or sys.stdout
        out.write(render(result, use_colour(out, self.config.color), self.config.scenarios))
        out.write("\n")
        out.flush()


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(ConsoleReporter)
