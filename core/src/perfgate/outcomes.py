"""Why requests failed, and how response checks went: per scenario and endpoint.

Load drivers tag each series of ``http.req_failed`` with the request's ``name`` and
``method``, its ``status`` (``0`` when no response came) and, for a failure, its ``error``
kind (``timeout``, ``connect_refused``, ``http_4xx``, ``capture``...) and, for some kinds,
its ``error_detail`` (the reason a TLS handshake failed). From those tags every
report lists failures as Locust and Taurus do (``GET /x: 404 × 14,239, timeout × 3``); from the
``checks`` rate (tagged ``name`` and ``check``) the table of checks k6's summary prints
(``✓ status is 200  100.00% — ✓ 14,831 / ✗ 0``). Both are derived from the metrics alone, so
they read the same from a run's metrics, its result document or an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from perfgate.metrics import MetricSet

FAILED = "http.req_failed"
CHECKS = "checks"


def endpoint_label(tags: Mapping[str, str]) -> str:
    """``GET health``: the method, then the name (or URL), unless the name already starts with
    the method (the http driver names an unnamed request ``GET /x``)."""
    name = tags.get("name") or tags.get("url") or ""
    method = tags.get("method") or ""
    if method and name.split(" ", 1)[0].upper() == method.upper():
        return name
    return " ".join(part for part in (method, name) if part)


def failure_reason(tags: Mapping[str, str]) -> str:
    """What a failed request ended with: its status (``404``), else its error kind
    (``timeout``), with its reason when the driver gave one (``error_detail``:
    ``tls: certificate verify failed: self-signed certificate``); a response whose status was
    fine but that failed for another reason says both (``capture (200)``)."""
    status = tags.get("status") or ""
    error = tags.get("error") or ""
    if error and tags.get("error_detail"):  # the kind's reason: tls: certificate verify...
        error = f"{error}: {tags['error_detail']}"
    if status and status != "0":
        if error and not error.startswith("http_"):
            return f"{error} ({status})"
        return status
    if error:
        return error
    if tags.get("error_code"):  # k6: no response, an error code instead
        return f"error {tags['error_code']}"
    return "failed"


@dataclass(frozen=True)
class RequestFailure:
    """Requests of one endpoint that failed the same way."""

    scenario: str
    endpoint: str
    reason: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """One response check of one endpoint: how often it held."""

    scenario: str
    endpoint: str
    check: str
    passes: int
    fails: int

    @property
    def rate(self) -> float:
        """The share of responses it held for, from 0 to 1."""
        total = self.passes + self.fails
        return self.passes / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def request_failures(metrics: MetricSet, scenario: str | None = None) -> list[RequestFailure]:
    """Failed requests by scenario, endpoint and reason, most frequent first in each endpoint.

    :param scenario: only this scenario's.
    """
    counts: dict[tuple[str, str, str], int] = {}
    for metric in metrics.select(FAILED, {"scenario": scenario} if scenario else None):
        failed = int(metric.aggregate("passes") or 0)  # a "pass" of http.req_failed failed
        if failed:
            key = (metric.tags.get("scenario", ""), endpoint_label(metric.tags),
                   failure_reason(metric.tags))
            counts[key] = counts.get(key, 0) + failed
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], item[0][1], -item[1],
                                                       item[0][2]))
    return [RequestFailure(s, e, r, n) for (s, e, r), n in ordered]


def check_results(metrics: MetricSet, scenario: str | None = None) -> list[CheckResult]:
    """Response checks by scenario, endpoint and check, in name order.

    :param scenario: only this scenario's.
    """
    counts: dict[tuple[str, str, str], list[int]] = {}
    for metric in metrics.select(CHECKS, {"scenario": scenario} if scenario else None):
        check = metric.tags.get("check")
        if check is None:
            continue
        key = (metric.tags.get("scenario", ""), endpoint_label(metric.tags), check)
        tally = counts.setdefault(key, [0, 0])
        tally[0] += int(metric.aggregate("passes") or 0)
        tally[1] += int(metric.aggregate("fails") or 0)
    return [CheckResult(s, e, c, passes, fails)
            for (s, e, c), (passes, fails) in sorted(counts.items())]


def failure_lines(failures: Iterable[RequestFailure]) -> list[str]:
    """One line per endpoint: ``GET /x: 404 × 14,239, timeout × 3``."""
    by_endpoint: dict[tuple[str, str], list[RequestFailure]] = {}
    for failure in failures:
        by_endpoint.setdefault((failure.scenario, failure.endpoint), []).append(failure)
    return [f"{endpoint or '(all requests)'}: "
            + ", ".join(f"{f.reason} × {f.count:,}" for f in found)
            for (_, endpoint), found in by_endpoint.items()]


def check_line(result: CheckResult) -> str:
    """``✓ GET /x: status is 200  100.00% — ✓ 14,831 / ✗ 0``, as k6's summary shows a check."""
    mark = "✓" if result.fails == 0 else "✗"
    where = f"{result.endpoint}: " if result.endpoint else ""
    return (f"{mark} {where}{result.check}  {result.rate * 100:.2f}% — "
            f"✓ {result.passes:,} / ✗ {result.fails:,}")
