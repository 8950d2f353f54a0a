"""Targets files written from a URL: ``perfgate init URL`` and the quick gate
``perfgate run --url URL --vus N --duration D --target 'METRIC: THRESHOLD'``.

Both write the same commented file: a service at the URL's origin, one ``http`` scenario that
sends ``GET`` to the URL with ``vus`` virtual users for ``duration``, the ``system`` collector,
targets, and the reporters that are installed. The quick gate runs it at once (it is kept in
the output folder, to be edited and run again); ``init`` leaves it for the user to edit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from perfgate.context import is_loopback
from perfgate.errors import ConfigError, ThresholdSyntaxError
from perfgate.thresholds import parse_threshold
from perfgate.units import format_duration

#: The plan's API targets (``shared/origin``), used when no ``--target`` is given.
DEFAULT_TARGETS = (
    ("api-latency", "http.req_duration", "p(95) < 200ms", "p(95) < 1000ms"),
    ("error-rate", "http.req_failed", "rate < 5%", "rate < 20%"),
)
#: Reporters the file names when they are installed: (name, options).
REPORTERS = (("console", ""), ("json", "path: reports/result.json"),
             ("markdown", "path: reports/report.md"), ("junit", "path: reports/junit.xml"))


@dataclass(frozen=True)
class QuickTarget:
    """One ``--target 'METRIC: THRESHOLD'``: the gate fails when the threshold is missed."""

    name: str
    metric: str
    threshold: str


def parse_target(text: str, taken: set[str] | None = None) -> QuickTarget:
    """``'http.req_duration{scenario:load}: p(95) < 200ms'`` as a target.

    The metric ends at the first ``:`` outside its ``{tags}``. Its name is the metric and the
    aggregation (``http.req_duration-p95``), numbered when ``taken`` already has it.

    :raises ConfigError: naming ``--target`` and what is wrong.
    """
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == ":" and depth == 0:
            metric, threshold = text[:index].strip(), text[index + 1:].strip()
            break
    else:
        raise ConfigError(f"--target {text!r}: expected 'METRIC: THRESHOLD', for example "
                          "'http.req_duration: p(95) < 200ms'")
    if not metric or not threshold:
        raise ConfigError(f"--target {text!r}: expected 'METRIC: THRESHOLD', for example "
                          "'http.req_duration: p(95) < 200ms'")
    try:
        parsed = parse_threshold(threshold)
    except ThresholdSyntaxError as exc:
        raise ConfigError(f"--target {text!r}: bad threshold: {exc.message}") from None
    label = re.sub(r"[^a-z0-9]+", "", parsed.label.lower())
    base = f"{metric.split('{')[0]}-{label}"
    name, number = base, 2
    while taken is not None and name in taken:
        name, number = f"{base}-{number}", number + 1
    if taken is not None:
        taken.add(name)
    return QuickTarget(name, metric, threshold)


def _quoted(text: str) -> str:
    """A YAML scalar that reads back as ``text`` (JSON strings are YAML)."""
    return json.dumps(text, ensure_ascii=False)


def targets_file(url: str, *, vus: int = 10, duration: float = 30.0,
                 targets: list[QuickTarget] | None = None,
                 reporters: Collection[str] | None = None,
                 installed: Collection[str] | None = None) -> str:
    """A commented targets file that loads ``url``; ``perfgate check`` accepts it.

    :param targets: the gate's thresholds (each a ``critical:``); the plan's API targets
        (``DEFAULT_TARGETS``) without them.
    :param reporters: the reporters of ``REPORTERS`` to use (all by default); the others are
        there commented out.
    :param installed: the reporters installed: one that is not is commented out, saying so.
    :raises ConfigError: ``url`` is not an http(s) URL with a host.
    """
    parts = urlsplit(url)
    try:
        valid = (parts.scheme in ("http", "https") and bool(parts.hostname)
                 and not parts.netloc.endswith(":") and (parts.port or 1) > 0)
    except ValueError:  # a port that is not a number
        valid = False
    if not valid or parts.username or parts.fragment:
        raise ConfigError(f"{url!r}: expected an http:// or https:// URL with a host and an "
                          "optional port, like http://127.0.0.1:8000/health")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path or "/"
    name = path.strip("/") or "root"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    request = f"{{name: {_quoted(name)}, path: {_quoted(path)}"
    if query:
        request += ", query: {" + ", ".join(f"{_quoted(k)}: {_quoted(v)}"
                                            for k, v in query.items()) + "}"
    request += "}"
    lines = [
        f"# A performance gate for {origin}. Check it: perfgate check FILE; run it:",
        "# perfgate run FILE (docs/targets-file.md has every key).",
        "version: 1",
    ]
    if not is_loopback(parts.hostname or ""):
        lines += ["# Load goes to loopback addresses only, and to the hosts listed here: make",
                  "# sure this one is yours to load.",
                  f"allow_hosts: [{_quoted(parts.hostname or '')}]"]
    lines += [
        "services:",
        "  api:",
        f"    url: {_quoted(origin)}",
        "    # health: /health                  # polled until it answers before the load",
        "    # start: python -m myapp --port 8000  # perfgate starts it and always stops it",
        "scenarios:",
        "  load:",
        "    driver: http",
        "    service: api",
        "    executor: constant-vus            # or ramping-vus, constant-arrival-rate...",
        f"    vus: {vus}",
        f"    duration: {format_duration(duration)}",
        "    requests:",
        f"      - {request}",
        "      # - {name: other, path: /other, weight: 3, think_time: 100ms}",
        "collectors:",
        "  # The host (system.*), perfgate itself (perfgate.*) and, for a service with start:,",
        "  # its own processes (service.*{service:api}).",
        "  system: {interval: 1s}",
        "targets:",
        "  # Missing a target warns; missing a critical threshold fails the gate.",
    ]
    if targets:
        lines += [f"  {_quoted(t.name)}: {{metric: {_quoted(t.metric)}, "
                  f"critical: {_quoted(t.threshold)}}}" for t in targets]
    else:
        lines += [f"  {key}: {{metric: {metric}, target: {target}, critical: {critical}}}"
                  for key, metric, target, critical in DEFAULT_TARGETS]
        lines += [
            "  # throughput: {metric: http.reqs, target: rate > 500, critical: rate > 100}",
            "  # With start: under the service, its own CPU (percent of one core):",
            '  # cpu: {metric: "service.cpu{service:api}", target: max < 80%, '
            "critical: max < 95%}",
        ]
    lines.append("reporters:")
    for reporter, options in REPORTERS:
        missing = installed is not None and reporter not in installed
        used = (reporters is None or reporter in reporters) and not missing
        lines.append(f"  {'' if used else '# '}{reporter}: {{{options}}}"
                     + ("  # not installed" if missing else ""))
    return "\n".join(lines) + "\n"
