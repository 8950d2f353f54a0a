"""The pages a page-speed collector measured, with links to their own reports.

A collector's ``details`` that hold ``pages`` (``frontend-lighthouse`` does) become a table:
one row per page, preset and phase (``before``, ``during`` or ``after`` the load), with the
headline numbers of the run the collector aggregated and a link to that run's HTML report,
relative to the output folder (where this report usually is too). Rows of the same page and
preset stand together, so a page at rest and under load read side by side.
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
    parts = []
    for instance, data in sorted(details.items()):
        rows_in = data.get("pages") if isinstance(data, Mapping) else None
        if not rows_in or not isinstance(rows_in, list):
            continue
        ordered = sorted(rows_in, key=lambda p: (str(p.get("page")), str(p.get("preset")),
                                                 _PHASES.get(str(p.get("when")), 9)))
        rows = []
        for page in ordered:
            values = page.get("values") or {}
            score = values.get("frontend.performance_score")
            report = page.get("report")
            rows.append([
                code(page.get("page", "")), escape(page.get("preset", "")),
                escape(page.get("when", "")),
                "—" if score is None else f"{round(score * 100)}",
                *(_cell(values, metric, unit) for _h, metric, unit in COLUMNS),
                f"[HTML]({quote(str(report))})" if report else "—",
            ])
        header = ["Page", "Preset", "When", "Score", *(h for h, _m, _u in COLUMNS), "Report"]
        parts.append(f"### Pages: {escape(instance)}\n\n" + table(
            header, rows, ["l", "l", "l", *["r"] * (len(COLUMNS) + 1), "l"]))
    return "\n\n".join(parts)
