"""Reading a Lighthouse result (LHR, ``*.report.json``) into named numbers.

Metric names and what they are, all from one run:

==============================  ====================================  =========================
metric                          from the result                       unit
==============================  ====================================  =========================
``frontend.performance_score``  ``categories.performance.score``      ratio (0..1)
``frontend.<category>_score``   ``categories.<id>.score``             ratio (0..1)
``frontend.fcp``                ``audits.first-contentful-paint``     ms
``frontend.lcp``                ``audits.largest-contentful-paint``   ms
``frontend.tbt``                ``audits.total-blocking-time``        ms
``frontend.cls``                ``audits.cumulative-layout-shift``    unitless
``frontend.speed_index``        ``audits.speed-index``                ms
``frontend.tti``                ``audits.interactive``                ms
``frontend.total_byte_weight``  ``audits.total-byte-weight``          B
``frontend.load_time``          ``audits.metrics`` ``observedLoad``   ms
``frontend.audit.<id>``         ``audits.<id>.numericValue``          the audit's unit
``frontend.audit_score.<id>``   ``audits.<id>.score``                 ratio (0..1)
==============================  ====================================  =========================

``frontend.load_time`` is the time from the start of the navigation to the page's ``load``
event (every image, script and stylesheet of the document loaded), as it happened in the
browser: Lighthouse *observes* it and never simulates it, so with the default
``throttlingMethod: simulate`` it is not throttled like the other metrics (use
``throttlingMethod: devtools`` for a throttled load event).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: perfgate's names for Lighthouse's metric audits.
METRIC_AUDITS: dict[str, str] = {
    "frontend.fcp": "first-contentful-paint",
    "frontend.lcp": "largest-contentful-paint",
    "frontend.tbt": "total-blocking-time",
    "frontend.cls": "cumulative-layout-shift",
    "frontend.speed_index": "speed-index",
    "frontend.tti": "interactive",
    "frontend.total_byte_weight": "total-byte-weight",
}
LOAD_TIME = "frontend.load_time"
AUDIT_PREFIX = "frontend.audit."
AUDIT_SCORE_PREFIX = "frontend.audit_score."
#: Lighthouse's ``numericUnit`` as perfgate units.
UNITS = {"millisecond": "ms", "second": "s", "byte": "B", "unitless": "", "element": ""}
#: Audits that hold other audits' numbers rather than a number of their own.
_CONTAINERS = {"metrics"}


def score_metric(category: str) -> str:
    """``performance`` → ``frontend.performance_score``; ``best-practices`` → ``..._score``."""
    return f"frontend.{category.replace('-', '_')}_score"


def unit_of(metric: str) -> str:
    """The unit of one of the fixed metrics (scores are ratios)."""
    if metric.endswith("_score"):
        return "ratio"
    if metric in ("frontend.cls",):
        return ""
    if metric == "frontend.total_byte_weight":
        return "B"
    return "ms"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class LighthouseResult:
    """The numbers of one Lighthouse run, and where its reports are."""

    json_path: Path
    html_path: Path | None
    requested_url: str
    final_url: str
    fetch_time: str
    lighthouse_version: str
    user_agent: str
    benchmark_index: float | None
    form_factor: str
    throttling_method: str
    #: perfgate metric name → (value, unit), the fixed metrics and every numeric audit.
    values: dict[str, tuple[float, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def value(self, metric: str) -> float | None:
        item = self.values.get(metric)
        return item[0] if item else None


def read_result(json_path: Path, html_path: Path | None = None) -> LighthouseResult:
    """Read ``json_path``; raises ``ValueError`` when it is not a Lighthouse result."""
    try:
        lhr = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the Lighthouse result {json_path}: {exc}") from None
    if not isinstance(lhr, dict) or "audits" not in lhr or "lighthouseVersion" not in lhr:
        raise ValueError(f"{json_path} is not a Lighthouse result")
    audits: dict[str, Any] = lhr.get("audits") or {}
    settings = lhr.get("configSettings") or {}
    environment = lhr.get("environment") or {}
    result = LighthouseResult(
        json_path=json_path, html_path=html_path,
        requested_url=str(lhr.get("requestedUrl", "")),
        final_url=str(lhr.get("finalDisplayedUrl") or lhr.get("finalUrl") or ""),
        fetch_time=str(lhr.get("fetchTime", "")),
        lighthouse_version=str(lhr["lighthouseVersion"]),
        user_agent=str(environment.get("hostUserAgent", "")),
        benchmark_index=_number(environment.get("benchmarkIndex")),
        form_factor=str(settings.get("formFactor", "")),
        throttling_method=str(settings.get("throttlingMethod", "")),
        warnings=[str(w) for w in lhr.get("runWarnings") or []],
    )
    for category, data in (lhr.get("categories") or {}).items():
        score = _number((data or {}).get("score"))
        if score is not None:
            result.values[score_metric(category)] = (score, "ratio")
    for metric, audit_id in METRIC_AUDITS.items():
        value = _number((audits.get(audit_id) or {}).get("numericValue"))
        if value is not None:
            result.values[metric] = (value, unit_of(metric))
    items = (((audits.get("metrics") or {}).get("details") or {}).get("items") or [{}])
    load = _number(items[0].get("observedLoad")) if isinstance(items[0], dict) else None
    if load is not None:
        result.values[LOAD_TIME] = (load, "ms")
    for audit_id, audit in audits.items():
        if audit_id in _CONTAINERS or not isinstance(audit, dict):
            continue
        value = _number(audit.get("numericValue"))
        if value is not None:
            unit = UNITS.get(str(audit.get("numericUnit", "")), "")
            result.values[AUDIT_PREFIX + audit_id] = (value, unit)
        # Informative and not-applicable audits have no score (null).
        score = _number(audit.get("score"))
        if score is not None:
            result.values[AUDIT_SCORE_PREFIX + audit_id] = (score, "ratio")
    return result
