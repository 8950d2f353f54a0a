"""A scenario compiled for the hot loop: request bytes built once, weights as a cycle.

The plan is rebuilt in every worker process from plain data (:class:`PlanInput`), so only
picklable things cross process boundaries.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from perfgate import (
    Feeders,
    RequestSpec,
    address_allowed,
    has_template,
    is_loopback,
    parse_capture,
    render_template,
    render_templates,
)
from perfgate_aiohttp_api.bodies import Files, auth_header, has_body_keys, render_body
from perfgate_aiohttp_api.checks import CompiledChecks
from perfgate_aiohttp_api.connections import HttpVersion, Origin
from perfgate_aiohttp_api.executors import Executor
from perfgate_aiohttp_api.scenario import HttpScenario, host_address
from perfgate_aiohttp_api.template import RequestTemplate
from perfgate_aiohttp_api.tls import TlsOptions

USER_AGENT = "perfgate-http/0.1"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class PlanInput:
    """What a worker needs to rebuild the plan: all plain data."""

    scenario: dict[str, Any]
    scenario_name: str
    base_url: str | None
    time_scale: float
    allow_hosts: tuple[str, ...]


def origin_of(url: str) -> tuple[Origin, str, str]:
    """``(origin, Host header, request target)`` of an absolute URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r}: only http:// and https:// URLs can be loaded")
    host = parts.hostname or ""
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    host_header = host if ":" not in host else f"[{host}]"
    if port != default:
        host_header += f":{port}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return (scheme, host, port), host_header, target


def request_head(method: str, host_header: str, target: str, headers: dict[str, str]) -> str:
    """The head of an HTTP/1.1 request up to its last header but ``Content-Length``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
    lower = {k.lower() for k in headers}
    if "user-agent" not in lower:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in lower:
        lines.append("Accept: */*")
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    return "\r\n".join(lines)


def has_length(method: str, body: object) -> bool:
    """Whether the request says ``Content-Length``: it has a body or a method with one."""
    return body is not None or method in ("POST", "PUT", "PATCH")


def build_request(method: str, host_header: str, target: str, headers: dict[str, str],
                  body: bytes | None) -> bytes:
    """HTTP/1.1 request bytes; ``Content-Length`` whenever there is a body or a method with one."""
    head = request_head(method, host_header, target, headers)
    if has_length(method, body):
        head += f"\r\nContent-Length: {len(body or b'')}"
    return (head + "\r\n\r\n").encode("latin-1") + (body or b"")


@dataclass(frozen=True)
class Defaults:
    """What a scenario sets for every request: ``accept_encoding``, ``max_redirects``,
    ``connection_reuse``; and the files bodies are read from."""

    accept_encoding: str | None = None
    max_redirects: int = 10
    connection_reuse: bool = True
    files: Files = field(default_factory=Files)


class Prepared:
    """One request ready to send, with the cells its results are counted in."""

    __slots__ = (
        "accept_encoding",
        "after",
        "before",
        "captures",
        "capturing",
        "cells",
        "check_counts",
        "checks",
        "cookies",
        "data",
        "decode",
        "files",
        "follow",
        "head",
        "header_captures",
        "idempotent",
        "keep_body",
        "label",
        "method",
        "origin",
        "reads_json",
        "scan_cookies",
        "search",
        "spec",
        "template",
        "templated",
        "think",
        "timeout_ns",
        "url",
    )

    def __init__(self, spec: RequestSpec, base_url: str | None,
                 defaults: Defaults | None = None) -> None:
        defaults = defaults or Defaults()
        self.spec = spec
        self.label = spec.label
        self.method = spec.method
        self.head = spec.method == "HEAD"
        self.idempotent = spec.method in IDEMPOTENT
        # Think time is how a user behaves, not how long the test lasts: --time-scale
        # shortens the schedule but leaves each VU's pace (and so the load) as it is.
        self.think = spec.think_time
        self.checks = CompiledChecks.build(spec.checks) if spec.checks else None
        self.check_counts = [[0, 0] for _ in (self.checks.names if self.checks else ())]
        sources = {name: parse_capture(path) for name, path in spec.capture.items()}
        #: JSON path captures, from the body; ``header:`` and ``cookie:`` ones, from the head.
        self.captures = {name: arg for name, (kind, arg) in sources.items() if kind == "json"}
        self.header_captures = {name: src for name, src in sources.items() if src[0] != "json"}
        self.capturing = bool(sources)
        self.keep_body = bool(self.captures) or bool(self.checks and self.checks.needs_body)
        #: The body is decoded as JSON: for captures and JSON checks.
        self.reads_json = bool(self.captures) or bool(self.checks and self.checks.json_equals)
        #: ``body_contains``, looked for as the body streams in.
        self.search = self.checks.body_contains if self.checks else None
        #: Compressed bodies asked for: a body a check or capture reads is decoded first
        #: (and ``body_contains`` looked for in the decoded body).
        self.decode = bool(defaults.accept_encoding or any(
            k.lower() == "accept-encoding" for k in spec.headers)) and (
            self.keep_body or self.search is not None)
        if self.decode:
            self.keep_body, self.search = True, None
        self.follow = spec.max_redirects if spec.max_redirects is not None \
            else defaults.max_redirects
        self.timeout_ns = int(spec.timeout * 1e9) if spec.timeout is not None else 0
        self.cookies = spec.cookies
        #: Set before sending (``cookies:``) / looked at after the response (head captures,
        #: decoding, no connection reuse); the jar's part is decided per VU and response.
        self.before = bool(spec.cookies)
        self.after = bool(self.header_captures) or self.decode or not defaults.connection_reuse
        #: Whether a ``Set-Cookie`` on this response matters (set by :class:`Plan`).
        self.scan_cookies = False
        self.files = defaults.files
        self.accept_encoding = defaults.accept_encoding
        #: result (status code or error kind) -> Cell, filled by the recorder
        self.cells: dict[Any, Any] = {}
        self.url = self._url(base_url)
        self.templated = (has_template(self.url) or any(
            has_template(k) or has_template(v) for k, v in spec.headers.items())
            or has_template(spec.body) or has_template(json.dumps(spec.json_body))
            or has_template(json.dumps([
                spec.form, spec.cookies, spec.auth.texts() if spec.auth else None,
                {k: v for k, v in (spec.multipart or {}).items() if not hasattr(v, "file")}])))
        self.origin: Origin | None = None
        self.data: bytes | None = None
        #: A templated request split into fixed bytes and holes (None: rendered the slow way).
        self.template: tuple[Origin, RequestTemplate] | None = None
        if not self.templated:
            self.origin, self.data = self.render({})
        else:
            self.template = self._template()

    def _url(self, base_url: str | None) -> str:
        spec = self.spec
        url = spec.url if spec.url is not None else (base_url or "") + "/" + \
            (spec.path or "").lstrip("/")
        if spec.query:
            url += ("&" if "?" in url else "?") + urlencode(spec.query, doseq=True)
        return url

    def _template(self) -> tuple[Origin, RequestTemplate] | None:
        """This request's bytes split at their templates, or None when a template stands
        where the bytes around it depend on its value (the origin, a header's name, a JSON
        key), and for form, multipart, file bodies and ``auth:``, whose bytes are made by
        :mod:`.bodies`: such a request is rendered whole each time."""
        spec = self.spec
        origin, host_header, target = origin_of(self.url)
        if has_template(f"{origin[1]}{host_header}") or any(map(has_template, spec.headers)) \
                or _keys_templated(spec.json_body) or has_body_keys(spec) \
                or spec.auth is not None:
            return None
        headers = dict(spec.headers)
        self._defaults(headers, {})  # the scenario's accept_encoding
        body: str | None = None
        if spec.json_body is not None:
            body = json.dumps(spec.json_body, separators=(",", ":"))
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        elif spec.body is not None:
            body = spec.body
        head = request_head(spec.method, host_header, target, headers)
        return origin, RequestTemplate(head, body, spec.json_body is not None,
                                       has_length(spec.method, body))

    def render(self, values: dict[str, str]) -> tuple[Origin, bytes]:
        """The origin and bytes of this request with ``values`` put into its templates."""
        if self.template is not None:
            origin, template = self.template
            return origin, template.render(values)
        spec = self.spec
        url = render_template(self.url, values) if values or self.templated else self.url
        origin, host_header, target = origin_of(url)
        headers = {render_template(k, values): render_template(v, values)
                   for k, v in spec.headers.items()}
        body: bytes | None = None
        if spec.json_body is not None:
            body = json.dumps(render_templates(spec.json_body, values),
                              separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        elif spec.body is not None:
            body = render_template(spec.body, values).encode()
        elif has_body_keys(spec):
            body, content_type = render_body(spec, values, self.files)
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = content_type
        self._defaults(headers, values)
        return origin, build_request(spec.method, host_header, target, headers, body)

    def _defaults(self, headers: dict[str, str], values: dict[str, str]) -> None:
        """``auth:`` and the scenario's ``accept_encoding``, unless a header says otherwise."""
        given = {k.lower() for k in headers}
        auth = auth_header(self.spec, values)
        if auth is not None and "authorization" not in given:
            headers["Authorization"] = auth
        if self.accept_encoding and "accept-encoding" not in given:
            headers["Accept-Encoding"] = self.accept_encoding


def _keys_templated(value: Any) -> bool:
    """Whether a JSON body has a template in one of its keys, at any depth."""
    if isinstance(value, dict):
        return any(has_template(k) or _keys_templated(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_keys_templated, value))
    return False


@dataclass
class Flow:
    """A user flow: its steps, run in order in one iteration."""

    label: str
    steps: list[Prepared]
    #: Whether a step has a template: its iterations need their variables.
    templated: bool = field(init=False)

    def __post_init__(self) -> None:
        self.templated = any(step.templated for step in self.steps)


@dataclass
class Plan:
    """A compiled scenario: requests, the weighted order of iterations, the executor."""

    scenario_name: str
    executor: Executor
    items: list[Prepared | Flow]
    order: list[int]
    timeout: float
    graceful_stop: float
    scale: float
    allow_hosts: tuple[str, ...]
    insecure: bool
    expected: frozenset[int] | None
    origins: list[Origin] = field(default_factory=list)
    #: ``(sample, slowest)`` of ``trace:``, or None when requests carry no ``traceparent``.
    trace: tuple[float, int] | None = None
    #: The scenario's ``data:`` rows and modes (read once, in the parent process).
    data: dict[str, Any] = field(default_factory=dict)
    #: ``cookie_jar``: ``per-iteration``, ``keep`` or ``off``.
    cookie_jar: str = "per-iteration"
    connection_reuse: bool = True
    #: ``hosts:``: name -> (address, port or None).
    hosts: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    #: ``tls:``, ``http_version``, ``http2_max_streams`` (:mod:`.connections`).
    tls: TlsOptions | None = None
    http_version: HttpVersion = "1.1"
    http2_max_streams: int = 100

    @classmethod
    def build(cls, inp: PlanInput) -> Plan:
        scenario = HttpScenario.model_validate(inp.scenario)
        scale = inp.time_scale
        base = scenario.url or inp.base_url
        defaults = Defaults(scenario.accept_encoding, scenario.max_redirects,
                            scenario.connection_reuse)
        items: list[Prepared | Flow] = [Prepared(r, base, defaults) for r in scenario.requests]
        items += [Flow(f.name, [Prepared(s, base, defaults) for s in f.steps])
                  for f in scenario.flows]
        mark_cookie_scans(items, scenario.cookie_jar)
        weights = [r.weight for r in scenario.requests] + [f.weight for f in scenario.flows]
        origins = sorted({p.origin for p in all_prepared(items) if p.origin is not None})
        return cls(
            scenario_name=inp.scenario_name,
            executor=scenario.executor,
            items=items,
            order=weighted_order(weights),
            timeout=scenario.timeout,
            graceful_stop=scenario.graceful_stop,
            scale=scale,
            allow_hosts=inp.allow_hosts,
            insecure=scenario.insecure_skip_tls_verify,
            expected=frozenset(scenario.expected_statuses)
            if scenario.expected_statuses is not None else None,
            origins=origins,
            trace=(scenario.trace.sample, scenario.trace.slowest) if scenario.trace else None,
            data=Feeders.of(scenario.data),
            cookie_jar=scenario.cookie_jar,
            connection_reuse=scenario.connection_reuse,
            hosts={name: host_address(address) for name, address in scenario.hosts.items()},
            tls=scenario.tls,
            http_version=scenario.http_version,
            http2_max_streams=scenario.http2_max_streams,
        )

    @property
    def open_model(self) -> bool:
        return self.executor.open_model

    def picker(self, offset: int = 0) -> Callable[[], Prepared | Flow]:
        """A function that returns the next item in the weighted order."""
        items = self.items
        if len(items) == 1:
            only = items[0]
            return lambda: only
        order = self.order[offset % len(self.order):] + self.order[:offset % len(self.order)]
        return itertools.cycle([items[i] for i in order]).__next__

    def allowed(self, host: str) -> bool:
        return is_loopback(host) or host in self.allow_hosts

    def address_of(self, host: str, port: int) -> tuple[str, int]:
        """Where a connection to ``host:port`` goes: ``hosts:`` may say another address."""
        mapped = self.hosts.get(host)
        if mapped is None:
            return host, port
        return mapped[0], mapped[1] or port

    def reached_allowed(self, host: str, address: str | None) -> bool:
        """Whether a connection to ``host`` that reached ``address`` may carry load: a name
        that only looks loopback must have reached a loopback address."""
        return address is None or address_allowed(host, address, self.allow_hosts)

    def planned_duration(self) -> float | None:
        """Seconds of load the executor plans (None for iteration-count executors)."""
        return self.executor.planned_duration(self.scale)


def mark_cookie_scans(items: list[Prepared | Flow], cookie_jar: str) -> None:
    """Mark the requests whose response's ``Set-Cookie`` can matter: with a jar kept for
    the run, all of them; emptied each iteration, flow steps before the last (a cookie set
    by a single request or a flow's last step is gone before anything sends it, but those
    on a redirect's hops, which are always looked at); without a jar, none."""
    if cookie_jar == "off":
        return
    for item in items:
        steps = item.steps if isinstance(item, Flow) else [item]
        for i, step in enumerate(steps):
            step.scan_cookies = cookie_jar == "keep" or i < len(steps) - 1


def all_prepared(items: list[Prepared | Flow]) -> list[Prepared]:
    out: list[Prepared] = []
    for item in items:
        out.extend(item.steps if isinstance(item, Flow) else [item])
    return out


def weighted_order(weights: list[float]) -> list[int]:
    """Indexes in smooth weighted round-robin order; one cycle gives each its exact share.

    Integer weights give a cycle of their sum (``[1, 3]`` → 4 entries, one of the first);
    other weights are scaled to a cycle of about 1000 entries.
    """
    if all(float(w).is_integer() for w in weights) and sum(weights) <= 10_000:
        ints = [int(w) for w in weights]
    else:
        factor = 1000 / sum(weights)
        ints = [max(1, math.floor(w * factor + 0.5)) for w in weights]
    current = [0] * len(ints)
    total = sum(ints)
    order = []
    for _ in range(total):
        for i, w in enumerate(ints):
            current[i] += w
        best = max(range(len(ints)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return order
