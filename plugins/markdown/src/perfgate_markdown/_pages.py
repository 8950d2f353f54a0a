"""The pages a page-speed collector measured, with links to their own reports.

A collector's ``details`` that hold ``pages`` (``frontend-lighthouse`` does) become rows of one
table: one row per page, preset and phase (``before`` or ``after`` the load, ``during`` a
named scenario), with the headline numbers of the run the collector aggregated and a link to
that run's HTML report, relative to the output folder (where this report usually is too).
Rows of the same page and preset stand together, so a page at rest and under load read side
by side, also when two collectors measured them (one ``when: before``, one ``during:``); the
collector is named in a column of its own when there are several.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from perfgate import format_value
from perfgate_markdown._text import code, escape, table

#: Columns: header, metric, unit.
COLUMNS = (
    ("FCP", "frontend.fcp", "ms"),
    ("LCP", "frontend.lcp", "ms"),
    ("TBT", "frontend.tbt", "ms"),
    ("CLS", "frontend.cls", ""),
    ("TTI", "frontend.tti", "ms"),
    ("Load", "frontend.load_time", "ms"),
)
_PHASES = {"before": 0, "during": 1, "after": 2}


def _cell(values: Mapping[str, Any], metric: str, unit: str) -> str:
    value = values.get(metric)
    if value is None:
        return "—"
    if unit == "":
        return f"{value:.3f}"
    return format_value(value, unit)


def pages(details: Mapping[str, Any]) -> str:
    """The *Pages* table of every collector whose details list pages; "" when none do."""
    found = []
    for instance, data in sorted(details.items()):
        rows_in = data.get("pages") if isinstance(data, Mapping) else None
        if rows_in and isinstance(rows_in, list):
            found += [(instance, page) for page in rows_in if isinstance(page, Mapping)]
    if not found:
        return ""
    several = len({instance for instance, _page in found}) > 1
    found.sort(key=lambda item: (str(item[1].get("page")), str(item[1].get("preset")),
                                 _PHASES.get(str(item[1].get("when")), 9), item[0]))
    rows = []
    for instance, page in found:
        values = page.get("values") or {}
        score = values.get("frontend.performance_score")
        report = page.get("report")
        when = " ".join(str(p) for p in (page.get("when", ""), page.get("scenario")) if p)
        rows.append([
            code(page.get("page", "")), escape(page.get("preset", "")), escape(when),
            *([escape(instance)] if several else []),
            "—" if score is None else f"{round(score * 100)}",
            *(_cell(values, metric, unit) for _h, metric, unit in COLUMNS),
            f"[HTML]({quote(str(report))})" if report else "—",
        ])
    header = ["Page", "Preset", "When", *(["Collector"] if several else []), "Score",
              *(h for h, _m, _u in COLUMNS), "Report"]
    align = ["l", "l", "l", *(["l"] if several else []), *["r"] * (len(COLUMNS) + 1), "l"]
    title = "### Pages" if several else f"### Pages: {escape(found[0][0])}"
    return f"{title}\n\n" + table(header, rows, align)
