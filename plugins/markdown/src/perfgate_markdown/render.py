"""The Markdown report, section by section, from a result document.

Order follows what a reviewer asks first: did the gate pass, which checks missed, what each
scenario did, what the machines did, what the database spent its time on, whether the
numbers can be trusted, and where they were measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from perfgate import (
    Baseline,
    Check,
    Headline,
    MetricSet,
    ResultDocument,
    ThresholdOutcome,
    check_labels,
    check_results,
    format_delta,
    format_duration,
    format_selector,
    format_value,
    headline,
    request_failures,
    run_status_line,
)
from perfgate_markdown._pages import pages
from perfgate_markdown._requests import RequestRow, request_rows, scenarios_with_requests
from perfgate_markdown._text import code, escape, escape_line, plain, table, truncate
from perfgate_markdown._traces import slowest

#: How each verdict shows, in tables and in the headline.
VERDICT_MARKS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "💥", "skip": "⏭️"}
#: The headline's mark when the run's status, not the checks, decides the exit code.
RUN_MARKS = {"interrupted": "⛔", "broken": "💥"}
SCENARIO_MARKS = {"completed": "✅", "failed": "❌", "interrupted": "⏹️", "skipped": "⏭️"}
#: Longest SQL statement text shown in the slow statements table.
STATEMENT_CHARS = 160


def render(result: ResultDocument, baseline: Baseline | None = None, *,
           title: str = "perfgate", top_statements: int = 10,
           baseline_problem: str | None = None, trace_url: str | None = None) -> str:
    """The whole report as Markdown text, ending with a newline.

    :param baseline: an earlier result to compare with (adds delta columns).
    :param title: the headline's first words.
    :param top_statements: how many slow database statements to list per database.
    :param baseline_problem: why a requested baseline could not be used, shown as a note.
    :param trace_url: a tracing UI's address with ``{trace_id}``, to link the slowest
        requests' traces.
    """
    sections = [
        _headline(result, title),
        _baseline_line(baseline, baseline_problem),
        _checks(result.checks, baseline),
        _scenarios(result, baseline),
        slowest(result, trace_url),
        _resources(result, baseline),
        pages(result.details),
        _statements(result.details, top_statements),
        _notes(result),
        _environment(result),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def mark(verdict: str) -> str:
    """``✅ pass``: a verdict with its symbol."""
    return f"{VERDICT_MARKS.get(verdict, '❔')} {escape(verdict)}"


def _seconds(value: float | None) -> str:
    """A duration as people read it, to a tenth of a second: ``12.5s``, ``1m30s``."""
    if value is None:
        return "n/a"
    if value < 0.05:
        return "<0.1s"
    return format_duration(round(value, 1))


def _timestamp(epoch: float | None) -> str:
    if epoch is None:
        return "n/a"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _heading(result: ResultDocument, title: str) -> str:
    """``✅ perfgate: PASS``, or the run's outcome when the checks' verdict alone would
    contradict the exit code: ``⛔ perfgate: INTERRUPTED (exit 130) — checks: pass``."""
    head: Headline = headline(result)
    symbol = RUN_MARKS.get(head.outcome) or VERDICT_MARKS.get(head.outcome, "❔")
    return f"## {symbol} {escape(head.text(title))}"


def _headline(result: ResultDocument, title: str) -> str:
    lines = [_heading(result, title)]
    summary = result.summary or {}
    counts = " · ".join(f"{VERDICT_MARKS[v]} {summary.get(v, 0)} {v}" for v in VERDICT_MARKS)
    lines.append(f"**{summary.get('checks', len(result.checks))} checks**: {counts} — "
                 f"exit code {result.exit_code}")
    cut_short = run_status_line(result)
    if cut_short:
        lines.append(f"> ⚠️ {escape(cut_short)}")
    if result.run.get("fail_on") == "warn":
        lines.append("Warnings fail this gate (`--fail-on warn`).")
    return "\n\n".join(lines)


def _baseline_line(baseline: Baseline | None, problem: str | None) -> str:
    if problem:
        return f"> ⚠️ No baseline comparison: {escape(problem)}"
    if baseline is None:
        return ""
    run = baseline.result.run
    return (f"Compared with the baseline {code(baseline.path.name, in_table=False)} "
            f"(run {code(run.get('id', '?'), in_table=False)} of "
            f"{_timestamp(run.get('started'))}, verdict {mark(baseline.result.verdict)}).")


# -- checks ------------------------------------------------------------------------------------

def _threshold(outcome: ThresholdOutcome | None) -> str:
    if outcome is None:
        return "—"
    cell = code(outcome.expression)
    if outcome.passed is True:
        cell += " ✅"
    elif outcome.passed is False:
        cell += " ❌"
    return cell


def _measured(check: Check) -> str:
    value = format_value(check.measured, check.unit)
    if check.aggregation and check.measured is not None:
        return f"{escape(check.aggregation)} {value}"
    return value


def _checks(checks: list[Check], baseline: Baseline | None) -> str:
    if not checks:
        return "### Checks\n\nNo targets were checked."
    header = ["Check", "Metric", "Measured", "Target", "Critical", "Verdict"]
    align = ["l", "l", "r", "l", "l", "l"]
    if baseline is not None:
        header += ["Baseline", "Δ"]
        align += ["r", "r"]
    rows = []
    labels = check_labels(checks)
    for check, label in zip(checks, labels, strict=True):
        row = [escape(label), code(check.metric), _measured(check),
               _threshold(check.target), _threshold(check.critical), mark(check.verdict.value)]
        if baseline is not None:
            before = baseline.value(check)
            if before is None:
                row += ["new", "—"]
            else:
                value, unit = before
                row += [format_value(value, unit), format_delta(check.measured, value, unit)]
        rows.append(row)
    parts = ["### Checks", table(header, rows, align)]
    remarks = [f"- {VERDICT_MARKS.get(c.verdict.value, '❔')} **{escape(label)}**: "
               f"{escape(c.message)}" for c, label in zip(checks, labels, strict=True)
               if c.verdict.value != "pass" and c.message]
    if remarks:
        parts.append("\n".join(remarks))
    return "\n\n".join(parts)


# -- scenarios and their requests --------------------------------------------------------------

def _scenario(result: ResultDocument, name: str) -> Mapping[str, Any]:
    return next((s for s in result.scenarios if s.get("name") == name), {})


def _length(scenario: Mapping[str, Any]) -> float | None:
    """A scenario's duration in seconds, if it ran."""
    start, end = scenario.get("started"), scenario.get("finished")
    if start is None or end is None:
        return None
    return max(float(end) - float(start), 0.0)


def _scenarios(result: ResultDocument, baseline: Baseline | None) -> str:
    metrics = result.metric_set()
    listed = [str(s.get("name")) for s in result.scenarios]
    names = listed + [n for n in scenarios_with_requests(metrics) if n not in listed]
    if not names:
        return ""
    rows = []
    for name in names:
        info = _scenario(result, name)
        length = _length(info)
        status = str(info.get("status", "completed"))
        rows.append([escape(name), escape(info.get("driver", "")),
                     f"{SCENARIO_MARKS.get(status, '❔')} {escape(status)}",
                     _seconds(length),
                     escape(info.get("error") or "")])
    parts = ["### Scenarios", table(["Scenario", "Driver", "Status", "Duration", "Error"],
                                    rows, ["l", "l", "l", "r", "l"])]
    base_metrics = baseline.metrics if baseline else None
    for name in names:
        current = request_rows(metrics, name, _length(_scenario(result, name)))
        if not current:
            continue
        before = None
        if baseline is not None and base_metrics is not None:
            base_length = _length(_scenario(baseline.result, name))
            before = {(r.label, r.total): r
                      for r in request_rows(base_metrics, name, base_length)}
        parts.append(f"#### Requests: {escape(name)}\n\n{_request_table(current, before)}")
        parts += _failures(metrics, name)
    return "\n\n".join(parts)


def _failures(metrics: MetricSet, scenario: str) -> list[str]:
    """Why a scenario's requests failed, and its response checks, as k6's summary shows them."""
    parts = []
    failures = request_failures(metrics, scenario)
    if failures:
        rows = [[escape(f.endpoint or "(all requests)"), code(f.reason), f"{f.count:,}"]
                for f in failures]
        parts.append(f"#### Failed requests: {escape(scenario)}\n\n"
                     + table(["Endpoint", "Failure", "Count"], rows, ["l", "l", "r"]))
    checks = check_results(metrics, scenario)
    if checks:
        rows = [["✅" if c.fails == 0 else "❌", escape(c.endpoint), escape(c.check),
                 f"{c.rate * 100:.2f}%", f"{c.passes:,}", f"{c.fails:,}"] for c in checks]
        parts.append(f"#### Response checks: {escape(scenario)}\n\n" + table(
            [" ", "Endpoint", "Check", "Passed", "✓", "✗"], rows,
            ["l", "l", "l", "r", "r", "r"]))
    return parts


def _request_table(rows: list[RequestRow],
                   before: Mapping[tuple[str, bool], RequestRow] | None) -> str:
    header = ["Endpoint", "Requests", "Rate", "p50", "p95", "p99", "Errors"]
    if before is not None:
        header += ["Δ p95", "Δ rate", "Δ errors"]
    out = []
    for row in rows:
        errors = "n/a" if row.errors is None else \
            f"{row.errors:.0f} ({format_value(row.error_rate, 'ratio')})"
        cells = ["**Total**" if row.total else escape(row.label),
                 format_value(row.count, ""), format_value(row.rate, "/s"),
                 format_value(row.p50, row.unit), format_value(row.p95, row.unit),
                 format_value(row.p99, row.unit), errors]
        if before is not None:
            old = before.get((row.label, row.total))
            if old is None:
                cells += ["new", "new", "new"]
            else:
                cells += [format_delta(row.p95, old.p95, row.unit),
                          format_delta(row.rate, old.rate, "/s"),
                          format_delta(row.error_rate, old.error_rate, "ratio")]
        out.append(cells)
    return table(header, out, ["l"] + ["r"] * (len(header) - 1))


# -- resources and the database ----------------------------------------------------------------

def _gauges(docs: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Gauges that collectors measured (a driver's gauges, such as ``vus``, carry a scenario;
    a page's numbers carry a ``page`` and have a section of their own)."""
    return {format_selector(d["name"], d.get("tags")): d for d in docs
            if d.get("kind") == "gauge" and not {"scenario", "page"} & set(d.get("tags") or {})}


def _resources(result: ResultDocument, baseline: Baseline | None) -> str:
    gauges = _gauges(result.metrics)
    if not gauges:
        return ""
    before = _gauges(baseline.result.metrics) if baseline else None
    header = ["Metric", "Avg", "Max", "Last"]
    if before is not None:
        header += ["Δ avg", "Δ max"]
    rows = []
    for selector in sorted(gauges, key=lambda s: (not s.startswith("system."), s)):
        doc = gauges[selector]
        values, unit = doc.get("values") or {}, doc.get("unit", "")
        row = [code(selector)] + [format_value(values.get(k), unit)
                                  for k in ("avg", "max", "value")]
        if before is not None:
            old = (before.get(selector) or {}).get("values")
            row += ["new", "new"] if old is None else [
                format_delta(values.get(k), old.get(k), unit) for k in ("avg", "max")]
        rows.append(row)
    return "### Resource usage\n\n" + table(header, rows, ["l"] + ["r"] * (len(header) - 1))


def _statements(details: Mapping[str, Any], limit: int) -> str:
    parts = []
    for instance, data in sorted(details.items()):
        statements = data.get("top_statements") if isinstance(data, Mapping) else None
        if not statements or limit <= 0:
            continue
        rows = []
        for rank, st in enumerate(statements[:limit], 1):
            rows.append([str(rank), code(truncate(plain(st.get("query", "")), STATEMENT_CHARS)),
                         format_value(st.get("calls"), ""), format_value(st.get("total_ms"), "ms"),
                         format_value(st.get("mean_ms"), "ms"),
                         format_value(st.get("max_ms"), "ms")])
        parts.append(f"### Slowest statements: {escape(instance)}\n\n" + table(
            ["#", "Statement", "Calls", "Total", "Mean", "Max"], rows,
            ["r", "l", "r", "r", "r", "r"]))
    return "\n\n".join(parts)


# -- validity and environment ------------------------------------------------------------------

def _notes(result: ResultDocument) -> str:
    parts = []
    if result.notes:
        parts.append("### Notes on measurement\n\n" +
                     "\n".join(f"- {escape_line(note)}" for note in result.notes))
    if result.errors:
        rows = [[escape(e.get("component", "")), escape(e.get("role", "")),
                 escape(e.get("phase", "")), escape(e.get("message", ""))]
                for e in result.errors]
        parts.append("### Problems during the run\n\n" +
                     table(["Component", "Role", "Phase", "Message"], rows))
    return "\n\n".join(parts)


def _environment(result: ResultDocument) -> str:
    run, env = result.run, result.environment
    facts: list[tuple[str, str]] = [
        ("Run", code(run.get("id", "n/a"))),
        ("Started", _timestamp(run.get("started"))),
        ("Duration", _seconds(run.get("duration"))),
        ("Status", escape(run.get("status", "n/a"))),
        ("Targets file", code(run.get("targets_file", "n/a"))),
        ("Targets SHA-256", code(run.get("targets_sha256", "n/a"))),
        ("Host", escape(env.get("host", "n/a"))),
        ("Platform", escape(env.get("platform", "n/a"))),
        ("Python", escape(env.get("python", "n/a"))),
        ("perfgate", escape(env.get("perfgate", "n/a"))),
    ]
    if run.get("time_scale") not in (None, 1, 1.0):
        facts.append(("Time scale", f"{float(run['time_scale']):g} (load durations scaled)"))
    parts = ["### Environment", table(["Property", "Value"], [[f"**{k}**", v] for k, v in facts])]
    plugins = env.get("plugins") or []
    if plugins:
        parts.append(table(["Plugin", "Distribution", "Version"], [
            [escape(p.get("name", "")), escape(p.get("distribution") or "—"),
             "⚠️ failed to load" if p.get("error") else escape(p.get("version") or "—")]
            for p in plugins]))
    return "\n\n".join(parts)
