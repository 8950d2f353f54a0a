"""A locustfile generated from perfgate's own ``requests:`` and ``flows:``.

The file is self-contained (the standard library, gevent and locust), so remote workers that
receive it from the master need nothing of perfgate. It reads JSON paths and fills
``${name}`` templates with perfgate's own functions, whose source it carries
(:func:`perfgate.json_lookup` and the others), so ``checks:`` and ``capture:`` mean what they
mean for the ``http`` driver:

- each iteration picks a request or a flow by ``weight`` and runs it (a flow's steps in order,
  captures feeding later steps; a step that cannot capture ends the flow, failed with
  ``capture``);
- a status outside ``expected_statuses`` (default 100-399) fails the request; redirects are
  not followed, as with the ``http`` driver;
- ``checks:`` are counted per request and check name, like k6's ``check()``, and sent with
  the worker's reports; iterations are counted the same way (tagged with the error that
  ended a flow early);
- ``think_time`` sleeps after a request.
"""

from __future__ import annotations

import inspect
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from perfgate import (
    TEMPLATE,
    RequestSpec,
    decode_json,
    has_template,
    json_capture,
    json_lookup,
    parse_json_path,
    render_template,
    render_templates,
    template_value,
)
from perfgate_locust.config import LocustScenario

#: perfgate's functions the generated file carries, in an order that defines each before use.
_SHIPPED = (json_lookup, decode_json, json_capture, has_template, template_value,
            render_template, render_templates)

_RUNTIME = '''
COUNTS = {"checks": {}, "iterations": {}}


@events.report_to_master.add_listener
def _report_counts(client_id, data, **_):
    data["perfgate_counts"] = {key: dict(values) for key, values in COUNTS.items()}
    for values in COUNTS.values():
        values.clear()


def _count(table, key, passed=True):
    row = table.setdefault(key, [0, 0])
    row[0] += 1 if passed else 0
    row[1] += 1


def _failed(status):
    if EXPECTED is not None:
        return status not in EXPECTED
    return not 100 <= status < 400


class PerfgateUser(FastHttpUser):
    """perfgate's requests and flows, one picked by weight per iteration."""

    wait_time = constant(0)
    host = BASE_URL
    network_timeout = TIMEOUT
    connection_timeout = TIMEOUT
    insecure = INSECURE
    max_redirects = 0

    @task
    def iteration(self):
        item = random.choices(ITEMS, weights=WEIGHTS)[0]
        values = {}
        for step in item["steps"]:
            error = self.send(step, values)
            if error is not None:
                _count(COUNTS["iterations"], error)
                return
        _count(COUNTS["iterations"], "")

    def send(self, step, values):
        """One request; returns the error that ends the flow (``capture``), else None."""
        url = render_template(step["url"], values) if step["templated"] else step["url"]
        headers = {render_template(k, values): render_template(v, values)
                   for k, v in step["headers"].items()}
        data = None
        if step["json"] is not None:
            data = json.dumps(render_templates(step["json"], values), separators=(",", ":"))
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        elif step["body"] is not None:
            data = render_template(step["body"], values)
        elif step["form"] is not None:
            data = urlencode({render_template(k, values): render_template(v, values)
                              for k, v in step["form"].items()})
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if step["cookies"] and not any(k.lower() == "cookie" for k in headers):
            headers["Cookie"] = "; ".join(f"{k}={render_template(v, values)}"
                                          for k, v in step["cookies"].items())
        ended = None
        with self.client.request(step["method"], url, name=step["name"], headers=headers,
                                 data=data, catch_response=True,
                                 allow_redirects=False) as response:
            status = response.status_code or 0
            if status and _failed(status):
                response.failure(f"HTTP {status}")
            elif status:
                response.success()
            doc = MISSING
            if step["captures"] or step["json_checks"]:
                doc = decode_json(response.content or b"")
            if step["check_names"]:
                elapsed = response.request_meta.get("response_time") or 0
                self.check(step, status, response.content or b"", doc, elapsed)
            if step["captures"] and status:
                got = json_capture(doc, step["captures"])
                missing = [name for name, value in got.items() if value is None]
                if missing:
                    if not _failed(status):
                        response.failure("capture: no value for " + ", ".join(missing))
                    ended = "capture"
                values.update({k: v for k, v in got.items() if v is not None})
            if not status:
                ended = "request"
        if step["think_time"]:
            gevent.sleep(step["think_time"])
        return ended if step["in_flow"] else None

    def check(self, step, status, body, doc, elapsed_ms):
        results = []
        if step["status_check"] is not None:
            results.append(status in step["status_check"])
        if step["body_contains"] is not None:
            results.append(step["body_contains"].encode() in body)
        for parts, expected in step["json_checks"]:
            results.append(doc is not MISSING and json_lookup(doc, parts) == expected)
        if step["max_duration_ms"] is not None:
            results.append(bool(status) and elapsed_ms <= step["max_duration_ms"])
        for name, passed in zip(step["check_names"], results):
            _count(COUNTS["checks"], step["name"] + "\\x1f" + name, passed)
'''


def _step(spec: RequestSpec, base_url: str | None, in_flow: bool) -> dict[str, Any]:
    url = spec.url if spec.url is not None else (base_url or "") + "/" + \
        (spec.path or "").lstrip("/")
    if spec.query:
        url += ("&" if "?" in url else "?") + urlencode(spec.query, doseq=True)
    checks = spec.checks
    status = None
    if checks is not None and checks.status is not None:
        status = [checks.status] if isinstance(checks.status, int) else list(checks.status)
    return {
        "name": spec.label, "method": spec.method, "url": url,
        "templated": has_template(url), "headers": dict(spec.headers),
        "json": spec.json_body, "body": spec.body, "think_time": spec.think_time,
        "form": {k: _text(v) for k, v in spec.form.items()} if spec.form is not None
        else None,
        "cookies": dict(spec.cookies),
        "in_flow": in_flow,
        "captures": {name: parse_json_path(path) for name, path in spec.capture.items()},
        "check_names": checks.names() if checks is not None else [],
        "status_check": status,
        "body_contains": checks.body_contains if checks is not None else None,
        "json_checks": [[parse_json_path(path), value] for path, value in
                        ((checks.json_equals or {}).items() if checks is not None else ())],
        "max_duration_ms": checks.max_duration * 1000
        if checks is not None and checks.max_duration is not None else None,
    }


def _text(value: str | int | float | bool) -> str:
    """A form field as the ``http`` driver sends it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def items(scenario: LocustScenario, base_url: str | None) -> list[dict[str, Any]]:
    """The requests and flows as plain data for the generated file."""
    out = [{"weight": spec.weight, "steps": [_step(spec, base_url, False)]}
           for spec in scenario.requests]
    out += [{"weight": flow.weight, "steps": [_step(step, base_url, True)
                                              for step in flow.steps]}
            for flow in scenario.flows]
    return out


def locustfile(scenario: LocustScenario, name: str, base_url: str | None) -> str:
    """The source of the generated locustfile for ``scenario``."""
    data = items(scenario, base_url)
    if base_url is None:  # every request has its own URL; Locust still wants a host
        first = urlsplit(data[0]["steps"][0]["url"])
        base_url = f"{first.scheme}://{first.netloc}"
    shipped = "\n\n".join(inspect.getsource(function) for function in _SHIPPED)
    head = f'''"""Generated by perfgate from scenario {name!r}: its requests and flows."""

import json
import random
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, constant, events, task

TEMPLATE = re.compile({TEMPLATE.pattern!r})
MISSING: Any = type("Missing", (), {{"__repr__": lambda self: "MISSING"}})()
ITEMS = json.loads({json.dumps(data)!r})
WEIGHTS = [item["weight"] for item in ITEMS]
BASE_URL = {base_url!r}
TIMEOUT = {scenario.timeout!r}
INSECURE = {scenario.insecure_skip_tls_verify!r}
EXPECTED = {set(scenario.expected_statuses) if scenario.expected_statuses else None!r}
'''
    return head + "\n\n" + shipped + "\n\n" + _RUNTIME
