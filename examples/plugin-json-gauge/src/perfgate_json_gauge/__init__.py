"""perfgate collector ``json-gauge``: polls a JSON status endpoint and records gauges.

::

    collectors:
      json-gauge:
        url: http://127.0.0.1:8000/status
        interval: 1s
        gauges:
          app.queue_depth: {path: queue.depth}
          app.pool_busy: {path: pools.0.busy}
          app.heap: {path: memory.heap_bytes, unit: B}
"""

from __future__ import annotations

import json
import math
import urllib.request
from typing import Any

from pydantic import Field, field_validator

from perfgate import (
    ComponentConfig,
    Duration,
    Kind,
    MetricInfo,
    Register,
    SamplingCollector,
    hookimpl,
)

#: Polls go straight to the endpoint, never through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class GaugeSpec(ComponentConfig):
    """Where one gauge's value is in the JSON document, and its unit."""

    #: Dotted path into the document; a number picks a list item: ``pools.0.busy``.
    path: str = Field(min_length=1)
    #: The value's unit: ``ms``, ``B``, ``%`` (0..100) or empty for plain numbers.
    unit: str = ""


class JsonGaugeConfig(ComponentConfig):
    """Options of the ``json-gauge`` collector."""

    url: str
    interval: Duration = 1.0
    timeout: Duration = 5.0
    gauges: dict[str, GaugeSpec] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted ``path``; raises ``LookupError`` naming the missing part."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise LookupError(f"no {part!r} at {path!r}")
    return value


def is_number(value: Any) -> bool:
    """True for a finite JSON number (``true`` and ``false`` are not numbers here)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


class JsonGaugeCollector(SamplingCollector[JsonGaugeConfig]):
    """Reads numbers from a JSON document every ``interval`` and records them as gauges.

    A read that fails raises, and :class:`SamplingCollector` records it and keeps polling; a
    path that leads nowhere is recorded with :meth:`fail`. A gauge never read gets an
    ``error`` verdict that quotes these messages.
    """

    name = "json-gauge"
    summary = "gauges read from a JSON status endpoint (loopback or allow_hosts only)"

    @classmethod
    def produces(cls, config: JsonGaugeConfig) -> list[MetricInfo]:
        return [MetricInfo(name, Kind.GAUGE, spec.unit, f"{spec.path} in {config.url}")
                for name, spec in config.gauges.items()]

    def open(self) -> None:
        # Refuses (and so breaks this collector) unless the host is loopback or allowed.
        self.context.check_load_allowed(self.config.url)

    def sample(self, now: float) -> None:
        with _OPENER.open(self.config.url, timeout=self.config.timeout) as response:
            document = json.load(response)
        for name, spec in self.config.gauges.items():
            try:
                value = lookup(document, spec.path)
            except LookupError as exc:
                self.fail(f"{name}: {exc} in {self.config.url}")
                continue
            if not is_number(value):
                self.fail(f"{name}: {spec.path!r} is {value!r}, not a number")
                continue
            self.metrics.gauge(name, unit=spec.unit).add(float(value), now)


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Make ``json-gauge`` available to targets files."""
    register(JsonGaugeCollector)
