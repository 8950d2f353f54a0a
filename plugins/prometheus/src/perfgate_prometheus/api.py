"""The Prometheus HTTP API calls the collector makes, with httpx: timeouts, no redirects.

Every failure is a :class:`QueryError` whose message says what went wrong in the words of the
API (``bad_data: 1:5: parse error: ...``) or of the connection (``ConnectError: ...``).
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import yaml

from perfgate import PerfgateError


class QueryError(PerfgateError):
    """A Prometheus API call that failed: unreachable, refused, or a PromQL error."""


class PrometheusAPI:
    """``/api/v1`` of one Prometheus server.

    Requests go straight to ``url`` (no proxy from the environment, no redirects), each
    within ``timeout`` seconds; a bearer token is sent when given.
    """

    def __init__(self, url: str, timeout: float, bearer_token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=timeout, headers=headers,
                                   follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self.client.close()

    def call(self, path: str, **params: Any) -> Any:
        """``data`` of a successful ``/api/v1/<path>`` answer."""
        try:
            response = self.client.post(f"/api/v1/{path}", data=params) if params else \
                self.client.get(f"/api/v1/{path}")
        except httpx.HTTPError as exc:
            raise QueryError(f"{type(exc).__name__}: {exc or 'no answer'}") from None
        try:
            body = response.json()
        except ValueError:
            raise QueryError(f"HTTP {response.status_code} from {self.url}/api/v1/{path}, "
                             f"not a Prometheus API answer") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "") if isinstance(body, dict) else ""
            kind = body.get("errorType", "") if isinstance(body, dict) else ""
            raise QueryError(f"{kind or f'HTTP {response.status_code}'}: {error}".rstrip(": "))
        return body.get("data")

    def build_info(self) -> dict[str, Any]:
        """The server's version, revision..."""
        return dict(self.call("status/buildinfo"))

    def scrape_interval(self) -> float:
        """The global scrape interval of the server's configuration, in seconds."""
        config = yaml.safe_load(self.call("status/config")["yaml"]) or {}
        return parse_duration(str(config.get("global", {}).get("scrape_interval", "1m")))

    def instant(self, query: str, at: float) -> dict[str, Any]:
        """``{"resultType", "result"}`` of ``query`` evaluated at ``at`` (epoch seconds)."""
        return dict(self.call("query", query=query, time=f"{at:.3f}"))

    def range(self, query: str, start: float, end: float, step: float) -> dict[str, Any]:
        """``{"resultType": "matrix", "result"}`` of ``query`` from ``start`` to ``end``."""
        return dict(self.call("query_range", query=query, start=f"{start:.3f}",
                              end=f"{end:.3f}", step=f"{step:g}"))


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0,
          "y": 31536000.0}


def parse_duration(text: str) -> float:
    """A Prometheus duration (``15s``, ``1m30s``, ``500ms``) in seconds."""
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        char = text[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else char
        if unit not in _UNITS or not number:
            raise ValueError(f"not a Prometheus duration: {text!r}")
        total += float(number) * _UNITS[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return total


def sample_value(raw: str) -> float | None:
    """A sample's value as the API writes it (``"0.25"``, ``"NaN"``, ``"+Inf"``); None for NaN."""
    value = float(raw)
    return None if math.isnan(value) else value
