"""The HTML report, section by section, from a result document.

The order is a reviewer's: did the gate pass, which checks missed, what each scenario did
over time, what the machines, containers, databases and caches did, how the pages scored,
whether the numbers can be trusted, and where they were measured. Every number is in a
plain table first (readable without JavaScript); the charts draw the same data over time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from perfgate import (
    Baseline,
    Check,
    Metric,
    MetricSet,
    ResultDocument,
    ThresholdOutcome,
    format_delta,
    format_duration,
    format_value,
    headline,
    run_status_line,
)
from perfgate_html.charts import (
    DURATION,
    FAILED,
    REQUESTS,
    Chart,
    ChartIds,
    Earlier,
    collector_charts,
    collector_series,
    endpoint,
    endpoint_trends,
    history_charts,
    load_start,
    percentile_curve,
    scenario_charts,
)
from perfgate_html.page import UPLOT, document
from perfgate_html.text import code, escape, table, tag

#: Marks that ordinary fonts have (emoji fonts are missing on many CI machines and servers).
VERDICT_MARKS = {"pass": "✓", "warn": "⚠", "fail": "✗", "error": "‼", "skip": "»"}
SCENARIO_MARKS = {"completed": "✓", "failed": "✗", "interrupted": "■", "skipped": "»"}
#: Families of collector metrics and the section they stand in; others have their own.
SECTIONS = (
    ("Host and load generator", ("system", "perfgate")),
    ("Containers", ("docker",)),
    ("Databases and caches", ("postgres", "redis", "mysql", "mongodb", "memcached")),
)
#: Lighthouse's headline numbers: header, metric, unit.
PAGE_COLUMNS = (
    ("FCP", "frontend.fcp", "ms"),
    ("LCP", "frontend.lcp", "ms"),
    ("TBT", "frontend.tbt", "ms"),
    ("CLS", "frontend.cls", ""),
    ("TTI", "frontend.tti", "ms"),
    ("Speed index", "frontend.speed_index", "ms"),
)
_PHASES = {"before": 0, "during": 1, "after": 2}
STATEMENT_CHARS = 300


def render(result: ResultDocument, baseline: Baseline | None = None, *,
           title: str = "perfgate", top_statements: int = 10,
           baseline_problem: str | None = None,
           history: Sequence[ResultDocument] = (), history_problem: str | None = None) -> str:
    """The whole report as one HTML document.

    :param baseline: an earlier result to compare with (adds baseline and delta columns).
    :param title: the headline's first words.
    :param top_statements: how many slow database statements to list per database.
    :param baseline_problem: why a requested baseline could not be used, shown as a note.
    :param history: earlier runs of the same targets file, newest first (the run history):
        each check's value is charted over them and this run.
    :param history_problem: why the run history could not be read, shown as a note.
    """
    ids = ChartIds()
    charts: list[Chart] = []
    metrics = result.metric_set()
    t0 = load_start(result)
    sections = [
        _headline(result, title),
        _baseline_line(baseline, baseline_problem),
        _checks(result.checks, baseline),
        _history(result, history, history_problem, ids, charts),
        _scenarios(result, metrics, baseline, t0, ids, charts),
        *_collectors(result, metrics, baseline, t0, ids, charts),
        _pages(result.details),
        _statements(result.details, top_statements),
        _notes(result),
        _environment(result),
    ]
    body = "\n".join(s for s in sections if s)
    footer = (f"<footer>Rendered by perfgate {escape(result.environment.get('perfgate', ''))}"
              f" with {escape(UPLOT)}. Times on charts are seconds since the load began."
              "</footer>")
    heading = _heading_words(result, title)
    data = {"charts": [c.to_json() for c in charts]}
    return document(heading, f"<main>\n{body}\n</main>\n{footer}", data)


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 0.05:
        return "&lt;0.1s"
    return escape(format_duration(round(value, 1)))


def _timestamp(epoch: float | None) -> str:
    if epoch is None:
        return "n/a"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def mark(verdict: str) -> str:
    """``✓ pass`` in a span a stylesheet colours by verdict."""
    return tag("span", f"{VERDICT_MARKS.get(verdict, '?')} {escape(verdict)}",
               f"verdict v-{verdict}")


def _figure(chart: Chart, charts: list[Chart], wide: bool = False) -> str:
    """A chart's place on the page; the script draws into it."""
    charts.append(chart)
    cls = "chart wide" if wide else "chart"
    return (f'<figure class="{cls}" id="{chart.id}"><figcaption>{escape(chart.title)}'
            "</figcaption><div class=\"plot\"></div><noscript><p class=\"nojs\">This chart "
            "needs JavaScript; the tables hold its numbers.</p></noscript></figure>")


def _grid(figures: Sequence[str]) -> str:
    return '<div class="charts">\n' + "\n".join(figures) + "\n</div>" if figures else ""


# -- headline ----------------------------------------------------------------------------------

def _status_word(result: ResultDocument) -> tuple[str, str]:
    """The headline's word (:func:`perfgate.headline`) and the verdict class that colours
    it: an interrupted or broken run is coloured as an error."""
    line = headline(result)
    return line.word, "error" if line.outcome in ("interrupted", "broken") else line.outcome


def _heading_words(result: ResultDocument, title: str) -> str:
    word, _cls = _status_word(result)
    return f"{title}: {word}"


def _headline(result: ResultDocument, title: str) -> str:
    word, cls = _status_word(result)
    summary: dict[str, int] = dict(result.summary or {})  # type: ignore[arg-type]
    counts = " · ".join(
        f'<span class="count v-{v}">{VERDICT_MARKS[v]} {int(summary.get(v, 0))} {v}</span>'
        for v in VERDICT_MARKS)
    parts = [f'<header class="headline v-{escape(cls)}">',
             f"<h1>{VERDICT_MARKS.get(cls, '‼')} {escape(title)}: {escape(word)}</h1>",
             f"<p><strong>{int(summary.get('checks', len(result.checks)))} checks</strong>: "
             f"{counts} — exit code {int(result.exit_code)}"
             + (f" — checks: {escape(result.verdict)}" if word != result.verdict.upper()
                else "") + "</p>"]
    cut_short = run_status_line(result)
    if cut_short:
        parts.append(f'<p class="warning">⚠ {escape(cut_short)}</p>')
    if result.run.get("fail_on") == "warn":
        parts.append("<p>Warnings fail this gate (<code>--fail-on warn</code>).</p>")
    parts.append("</header>")
    return "\n".join(parts)


def _baseline_line(baseline: Baseline | None, problem: str | None) -> str:
    if problem:
        return f'<p class="warning">⚠ No baseline comparison: {escape(problem)}</p>'
    if baseline is None:
        return ""
    run = baseline.result.run
    return (f"<p>Compared with the baseline {code(baseline.path.name)} (run "
            f"{code(run.get('id', '?'))} of {escape(_timestamp(run.get('started')))}, verdict "
            f"{mark(baseline.result.verdict)}).</p>")


# -- history -----------------------------------------------------------------------------------

def _history(result: ResultDocument, earlier: Sequence[ResultDocument], problem: str | None,
             ids: ChartIds, charts: list[Chart]) -> str:
    if problem:
        return (f'<section id="history"><h2>History</h2><p class="warning">⚠ The run history '
                f"could not be read: {escape(problem)}</p></section>")
    drawn = history_charts(result, earlier, ids)
    if not drawn:
        return ""
    runs = len(drawn[0].x) - 1
    return "\n".join([
        '<section id="history">', "<h2>History</h2>",
        f"<p>Each check's measured value in the {runs} earlier "
        f"run{'s' if runs != 1 else ''} of the run history and in this one (the last point), "
        "oldest first, with this run's thresholds.</p>",
        _grid([_figure(chart, charts) for chart in drawn]), "</section>"])


# -- checks ------------------------------------------------------------------------------------

def _threshold(outcome: ThresholdOutcome | None) -> str:
    if outcome is None:
        return "—"
    cell = code(outcome.expression)
    if outcome.passed is True:
        cell += ' <span class="met">✓ met</span>'
    elif outcome.passed is False:
        cell += ' <span class="missed">✗ missed</span>'
    return cell


def _measured(check: Check) -> str:
    value = escape(format_value(check.measured, check.unit))
    if check.aggregation and check.measured is not None:
        return f"{escape(check.aggregation)} {value}"
    return value


def _checks(checks: list[Check], baseline: Baseline | None) -> str:
    if not checks:
        return '<section id="checks"><h2>Checks</h2><p>No targets were checked.</p></section>'
    header = ["Check", "Metric", "Measured", "Target", "Critical", "Verdict"]
    if baseline is not None:
        header += ["Baseline", "Δ"]
    rows = []
    for check in checks:
        row = [escape(check.name), code(check.metric), _measured(check),
               _threshold(check.target), _threshold(check.critical), mark(check.verdict.value)]
        if baseline is not None:
            before = baseline.check(check)
            if before is None:
                row += ["new", "—"]
            else:
                row += [escape(format_value(before.measured, check.unit)),
                        escape(format_delta(check.measured, before.measured, check.unit))]
        rows.append(row)
    numeric = [2] + ([6, 7] if baseline is not None else [])
    parts = ['<section id="checks">', "<h2>Checks</h2>", table(header, rows, numeric)]
    remarks = [f"<li>{mark(c.verdict.value)} <strong>{escape(c.name)}</strong>: "
               f"{escape(c.message)}</li>" for c in checks
               if c.verdict.value != "pass" and c.message]
    if remarks:
        parts.append('<ul class="remarks">\n' + "\n".join(remarks) + "\n</ul>")
    parts.append("</section>")
    return "\n".join(parts)


# -- scenarios ---------------------------------------------------------------------------------

def _length(scenario: Mapping[str, Any]) -> float | None:
    start, end = scenario.get("started"), scenario.get("finished")
    if start is None or end is None:
        return None
    return max(float(end) - float(start), 0.0)


def _scenario_names(result: ResultDocument, metrics: MetricSet) -> list[str]:
    listed = [str(s.get("name")) for s in result.scenarios]
    measured = sorted({m.tags["scenario"] for m in metrics
                       if m.name in (DURATION, REQUESTS, FAILED) and "scenario" in m.tags
                       and m.window_scenario is None})
    return listed + [n for n in measured if n not in listed]


def _endpoint_series(metrics: MetricSet, scenario: str) -> dict[str, dict[str, Metric]]:
    """Each endpoint's ``http.*`` series merged exactly (a key ``*`` for the whole scenario)."""
    out: dict[str, dict[str, Metric]] = {}
    for name in (DURATION, REQUESTS, FAILED):
        for metric in metrics.select(name, {"scenario": scenario}):
            for label in (endpoint(metric.tags), "*"):
                group = out.setdefault(label, {})
                if name in group:
                    group[name].merge(metric)
                else:
                    group[name] = metric.copy({"scenario": scenario})
    return out


def _request_row(series: Mapping[str, Metric], duration: float | None
                 ) -> dict[str, float | None]:
    row: dict[str, float | None] = dict.fromkeys(
        ("count", "rate", "p50", "p95", "p99", "max", "errors", "error_rate"))
    trend = series.get(DURATION)
    if trend is not None and trend.count:
        row["count"] = float(trend.count)
        row["p50"], row["p95"], row["p99"] = (trend.aggregate("p", p) for p in (50, 95, 99))
        row["max"] = trend.aggregate("max")
    counter = series.get(REQUESTS)
    if counter is not None and counter.count:
        row["count"] = counter.aggregate("count")
        row["rate"] = counter.aggregate("rate")
    if row["rate"] is None and row["count"] is not None and duration:
        row["rate"] = row["count"] / duration
    failed = series.get(FAILED)
    if failed is not None and failed.count:
        row["errors"] = failed.aggregate("passes")  # a "pass" of http.req_failed failed
        row["error_rate"] = failed.aggregate("rate")
    return row


def _requests_table(metrics: MetricSet, scenario: str, duration: float | None,
                    before: MetricSet | None, before_duration: float | None) -> str:
    groups = _endpoint_series(metrics, scenario)
    if not groups:
        return ""
    old = _endpoint_series(before, scenario) if before is not None else None
    labels = sorted(k for k in groups if k != "*")
    if len(labels) > 1:
        labels.append("*")
    header = ["Endpoint", "Requests", "Rate", "p50", "p95", "p99", "Max", "Errors"]
    if old is not None:
        header += ["Δ p95", "Δ rate", "Δ errors"]
    rows = []
    for label in labels:
        row = _request_row(groups[label], duration)
        unit = "ms"
        errors = "n/a" if row["errors"] is None else \
            escape(f"{row['errors']:.0f} ({format_value(row['error_rate'], 'ratio')})")
        cells = ["<strong>Total</strong>" if label == "*" else escape(label),
                 escape(format_value(row["count"], "")), escape(format_value(row["rate"], "/s")),
                 *(escape(format_value(row[k], unit)) for k in ("p50", "p95", "p99", "max")),
                 errors]
        if old is not None:
            if label not in old:
                cells += ["new", "new", "new"]
            else:
                was = _request_row(old[label], before_duration)
                cells += [escape(format_delta(row["p95"], was["p95"], unit)),
                          escape(format_delta(row["rate"], was["rate"], "/s")),
                          escape(format_delta(row["error_rate"], was["error_rate"], "ratio"))]
        rows.append(cells)
    return table(header, rows, range(1, len(header)))


def _failures(metrics: MetricSet, scenario: str) -> str:
    """Failed requests by endpoint, status and kind (the ``error`` tag)."""
    counts: dict[tuple[str, str, str], float] = {}
    for metric in metrics.select(REQUESTS, {"scenario": scenario}):
        error = metric.tags.get("error")
        if error is None:
            continue
        key = (endpoint(metric.tags), metric.tags.get("status", ""), error)
        counts[key] = counts.get(key, 0.0) + (metric.aggregate("count") or 0.0)
    if not counts:
        return ""
    rows = [[escape(label), escape(status), escape(error), escape(format_value(n, ""))]
            for (label, status, error), n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return "<h4>Failed requests</h4>\n" + table(["Endpoint", "Status", "Kind", "Count"],
                                                 rows, [3])


def _scenarios(result: ResultDocument, metrics: MetricSet, baseline: Baseline | None,
               t0: float, ids: ChartIds, charts: list[Chart]) -> str:
    names = _scenario_names(result, metrics)
    if not names:
        return ""
    info = {str(s.get("name")): s for s in result.scenarios}
    rows = []
    for name in names:
        scenario: dict[str, Any] = dict(info.get(name, {}))
        status = str(scenario.get("status", "completed"))
        rows.append([escape(name), escape(scenario.get("driver", "")),
                     f"{SCENARIO_MARKS.get(status, '?')} {escape(status)}",
                     _seconds(_length(scenario)), escape(scenario.get("error") or "")])
    parts = ['<section id="scenarios">', "<h2>Scenarios</h2>",
             table(["Scenario", "Driver", "Status", "Duration", "Error"], rows, [3])]
    before = baseline.metrics if baseline is not None else None
    before_info = {str(s.get("name")): s for s in baseline.result.scenarios} \
        if baseline is not None else {}
    shifted = None if baseline is None else \
        Earlier(baseline.metrics, round(t0 - load_start(baseline.result)))
    for name in names:
        requests = _requests_table(metrics, name, _length(info.get(name, {})), before,
                                   _length(before_info.get(name, {})))
        figures = [_figure(chart, charts) for chart in
                   scenario_charts(result, metrics, name, t0, ids, shifted)]
        curve = percentile_curve(endpoint_trends(metrics, name), result.checks, name, ids())
        if curve is not None:
            figures.append(_figure(curve, charts))
        if not (requests or figures):
            continue
        parts += [f"<h3>Scenario: {escape(name)}</h3>", requests, _failures(metrics, name),
                  _grid(figures)]
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


# -- collectors --------------------------------------------------------------------------------

def _summary_table(series: Sequence[Metric], before: MetricSet | None) -> str:
    header = ["Metric", "Avg", "Max", "Last"]
    if before is not None:
        header += ["Δ avg", "Δ max"]
    rows = []
    for metric in series:
        if metric.kind.value == "counter":
            unit = f"{metric.unit}/s" if metric.unit else "/s"
            rate = metric.aggregate("rate")
            cells = [code(metric.selector), escape(format_value(rate, unit)), "—",
                     escape(format_value(metric.aggregate("count"), metric.unit)) + " in all"]
            if before is not None:
                cells += ["—", "—"]
            rows.append(cells)
            continue
        values = [metric.aggregate(k) for k in ("avg", "max", "value")]
        cells = [code(metric.selector), *(escape(format_value(v, metric.unit)) for v in values)]
        if before is not None:
            old = before.combined(metric.name, metric.tags)
            if old is None or not old.count:
                cells += ["new", "new"]
            else:
                cells += [escape(format_delta(metric.aggregate(k), old.aggregate(k),
                                              metric.unit)) for k in ("avg", "max")]
        rows.append(cells)
    return table(header, rows, range(1, len(header)))


def _collectors(result: ResultDocument, metrics: MetricSet, baseline: Baseline | None,
                t0: float, ids: ChartIds, charts: list[Chart]) -> list[str]:
    series = collector_series(metrics)
    if not series:
        return []
    by_family = collector_charts(result, series, t0, ids)
    before = baseline.metrics if baseline is not None else None
    placed = {f for _title, families in SECTIONS for f in families}
    sections = [(title, families) for title, families in SECTIONS]
    sections += [(f"Other: {f}", (f,)) for f in sorted(by_family) if f not in placed]
    out = []
    for n, (title, families) in enumerate(sections):
        members = [m for m in series if m.name.split(".", 1)[0] in families]
        if not members:
            continue
        members.sort(key=lambda m: (families.index(m.name.split(".", 1)[0]), m.key))
        figures = [_figure(chart, charts) for f in families for chart in by_family.get(f, [])]
        out.append("\n".join([f'<section id="collectors-{n}">', f"<h2>{escape(title)}</h2>",
                              _summary_table(members, before), _grid(figures), "</section>"]))
    return out


# -- pages, statements, notes, environment -----------------------------------------------------

def _page_cell(values: Mapping[str, Any], metric: str, unit: str) -> str:
    value = values.get(metric)
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.3f}" if unit == "" else escape(format_value(float(value), unit))


def _pages(details: Mapping[str, Any]) -> str:
    """Lighthouse's pages (a collector's ``details`` with ``pages``): scores and Web Vitals,
    at rest (``before``/``after`` the load) and under load (``during``) side by side."""
    parts = []
    for instance, data in sorted(details.items()):
        pages = data.get("pages") if isinstance(data, Mapping) else None
        if not pages or not isinstance(pages, list):
            continue
        ordered = sorted((p for p in pages if isinstance(p, Mapping)), key=lambda p: (
            str(p.get("page")), str(p.get("preset")), _PHASES.get(str(p.get("when")), 9)))
        rows = []
        for page in ordered:
            values = page.get("values") or {}
            score = values.get("frontend.performance_score")
            rows.append([code(page.get("page", "")), escape(page.get("preset", "")),
                         escape(page.get("when", "")),
                         "—" if not isinstance(score, int | float) else
                         tag("span", str(round(score * 100)), _score_class(score)),
                         *(_page_cell(values, m, u) for _h, m, u in PAGE_COLUMNS)])
        header = ["Page", "Preset", "When", "Score", *(h for h, _m, _u in PAGE_COLUMNS)]
        parts.append(f"<h3>{escape(instance)}</h3>\n" +
                     table(header, rows, range(3, len(header))))
    if not parts:
        return ""
    return '<section id="pages">\n<h2>Pages</h2>\n' + "\n".join(parts) + "\n</section>"


def _score_class(score: float) -> str:
    """Lighthouse's own colour bands: 90 and above good, 50 and above average."""
    return "score good" if score >= 0.9 else "score average" if score >= 0.5 else "score poor"


def _statements(details: Mapping[str, Any], limit: int) -> str:
    parts = []
    for instance, data in sorted(details.items()):
        statements = data.get("top_statements") if isinstance(data, Mapping) else None
        if not statements or limit <= 0 or not isinstance(statements, list):
            continue
        rows = []
        for rank, st in enumerate(statements[:limit], 1):
            query = " ".join(str(st.get("query", "")).split())
            if len(query) > STATEMENT_CHARS:
                query = query[:STATEMENT_CHARS - 1] + "…"
            rows.append([str(rank), code(query), escape(format_value(st.get("calls"), "")),
                         *(escape(format_value(st.get(k), "ms"))
                           for k in ("total_ms", "mean_ms", "max_ms"))])
        parts.append(f"<h3>Slowest statements: {escape(instance)}</h3>\n" + table(
            ["#", "Statement", "Calls", "Total", "Mean", "Max"], rows, [0, 2, 3, 4, 5]))
    if not parts:
        return ""
    return '<section id="statements">\n' + "\n".join(parts) + "\n</section>"


def _notes(result: ResultDocument) -> str:
    parts = []
    if result.notes:
        parts.append("<h2>Notes on measurement</h2>\n<ul>\n" + "\n".join(
            f"<li>{escape(note)}</li>" for note in result.notes) + "\n</ul>")
    if result.errors:
        rows = [[escape(e.get(k, "")) for k in ("component", "role", "phase", "message")]
                for e in result.errors]
        parts.append("<h2>Problems during the run</h2>\n" +
                     table(["Component", "Role", "Phase", "Message"], rows))
    if not parts:
        return ""
    return '<section id="notes">\n' + "\n".join(parts) + "\n</section>"


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    return table(["Property", "Value"], ([escape(k), v] for k, v in rows))


def _environment(result: ResultDocument) -> str:
    run, env = result.run, result.environment
    facts = [
        ("Run", code(run.get("id", "n/a"))),
        ("Started", escape(_timestamp(run.get("started")))),
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
        facts.append(("Time scale", escape(f"{float(run['time_scale']):g} (load durations "
                                           "scaled)")))
    parts = ['<section id="environment">', "<h2>Environment</h2>", _facts(facts)]
    plugins = env.get("plugins") or []
    if plugins:
        parts.append(table(["Plugin", "Distribution", "Version"], [
            [escape(p.get("name", "")), escape(p.get("distribution") or "—"),
             "⚠ failed to load" if p.get("error") else escape(p.get("version") or "—")]
            for p in plugins]))
    parts.append("</section>")
    return "\n".join(parts)
