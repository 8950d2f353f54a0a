"""perfgate's own description of HTTP load: ``requests:`` and ``flows:``, shared by drivers.

A scenario of any driver that sends perfgate-described HTTP requests (``http``, ``locust``)
takes the same keys::

    requests:
      - {name: health, path: /health}
      - {name: records, path: /api/records, weight: 3, checks: {status: 200}}
    flows:
      - name: sign-in
        steps:
          - {method: POST, path: /login, json: {user: a}, capture: {token: token}}
          - {path: /me, headers: {Authorization: "Bearer ${token}"}}

so a targets file can switch drivers without changing its requests or its targets. The models
validate one request or flow; :func:`check_requests` checks a scenario's list as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from perfgate.config import ComponentConfig, Duration
from perfgate.context import load_allowed
from perfgate.jsonpath import TEMPLATE, has_template
from perfgate.testdata import ITERATION_VARIABLES, DataSource


def _base_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/")


#: A scenario's ``url:``, the base of its requests' paths: http(s), no trailing slash.
BaseUrl = Annotated[str, AfterValidator(_base_url)]


class RequestChecks(ComponentConfig):
    """Assertions on one response, each counted in the ``checks`` rate (k6's ``check()``).

    ``json`` maps a path (``data.items[0].id`` or ``$.data.id``) to the value it must equal.
    """

    status: int | list[int] | None = None
    body_contains: str | None = None
    json_equals: dict[str, Any] | None = Field(default=None, alias="json")
    max_duration: Duration | None = None

    def names(self) -> list[str]:
        """The check names, as the ``check`` tag shows them."""
        out = []
        if self.status is not None:
            out.append(f"status is {self.status}" if isinstance(self.status, int)
                       else f"status in {self.status}")
        if self.body_contains is not None:
            out.append(f"body contains {self.body_contains!r}")
        for path, value in (self.json_equals or {}).items():
            out.append(f"json {path} == {value!r}")
        if self.max_duration is not None:
            out.append(f"duration <= {self.max_duration * 1000:g}ms")
        return out


class RequestSpec(ComponentConfig):
    """One HTTP request: where, what to send, how often, what to check and capture."""

    name: str | None = None
    method: str = "GET"
    path: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | int | float | bool | list[str | int | float]] = Field(
        default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    weight: float = Field(default=1.0, gt=0)
    think_time: Duration = 0.0
    checks: RequestChecks | None = None
    #: Flow steps: ``{variable: json.path}`` taken from this response for later steps.
    capture: dict[str, str] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        value = value.upper()
        if not re.fullmatch(r"[A-Z]+", value):
            raise ValueError("expected an HTTP method such as GET or POST")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "${")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> RequestSpec:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (on the scenario's service or url) or url")
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either json or body, not both")
        return self

    @property
    def label(self) -> str:
        """The ``name`` tag: the request's name, else its path or URL without templates."""
        return self.name or f"{self.method} {self.path or self.url}"


class FlowSpec(ComponentConfig):
    """A user flow: steps run in order in one iteration; captures feed later steps."""

    name: str
    weight: float = Field(default=1.0, gt=0)
    steps: list[RequestSpec] = Field(min_length=1)


def all_requests(requests: list[RequestSpec], flows: list[FlowSpec]) -> list[RequestSpec]:
    """Every request of a scenario: the ``requests:`` list, then each flow's steps."""
    return [*requests, *(step for flow in flows for step in flow.steps)]


def check_requests(requests: list[RequestSpec], flows: list[FlowSpec], has_base: bool,
                   data: Mapping[str, DataSource] | None = None,
                   variables: tuple[str, ...] = ITERATION_VARIABLES) -> None:
    """Check a scenario's ``requests:`` and ``flows:`` together; raises ``ValueError``.

    There must be at least one request; a request with a ``path`` needs a base URL (the
    scenario's ``service`` or ``url``: ``has_base``); every ``${name}`` must be a variable
    of the iteration (``vu``, ``iteration``, a column of one of the scenario's ``data``
    files), one new at each use (``uuid``, ``random_int:MIN:MAX``), or captured by an earlier
    step of the same flow. A driver whose iterations have no ``vu`` or ``iteration`` gives
    the ``variables`` they have.
    """
    known = set(variables) | {"uuid"}
    for name, source in (data or {}).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in (
                *ITERATION_VARIABLES, "uuid"):
            raise ValueError(f"data: {name!r}: a data file's name is a word of letters, digits "
                             "and _ (its columns are ${NAME.COLUMN}), and not vu, iteration "
                             "or uuid")
        known |= source.variables(name)
    if not requests and not flows:
        raise ValueError("give at least one entry under requests: or flows:")
    if not has_base:
        for spec in all_requests(requests, flows):
            if spec.path is not None:
                raise ValueError(f"request {spec.label!r} has a path but the scenario has "
                                 "neither service nor url")
    for spec in all_requests(requests, flows):
        if spec.url is not None and has_template(spec.url) and fixed_origin(spec.url) is None:
            raise ValueError(f"request {spec.label!r}: the scheme and host of a url cannot "
                             "be a template: where load goes is checked before the run, so "
                             "write them out and put templates in the path")
    for spec in requests:
        _check_variables(spec, known, f"request {spec.label!r}")
    for flow in flows:
        captured = set(known)
        for step in flow.steps:
            _check_variables(step, captured, f"flow {flow.name!r}, step {step.label!r}")
            captured.update(step.capture)


def check_request_hosts(url: str | None, requests: list[RequestSpec], flows: list[FlowSpec],
                        allow_hosts: list[str]) -> None:
    """Refuse a scenario ``url`` or a request's ``url`` that load may not go to.

    Raises ``ValueError`` naming the first such URL; a URL that is a template is left to the
    driver, which checks it when it is known.
    """
    for target in [url, *(spec.url for spec in all_requests(requests, flows))]:
        origin = fixed_origin(target) if target else None
        if origin and not load_allowed(origin, allow_hosts):
            raise ValueError(f"refusing to send load to {target}: its host is neither "
                             "loopback nor listed under allow_hosts:")


def fixed_origin(url: str) -> str | None:
    """``scheme://host:port`` of ``url`` when no template stands in it (templates may
    follow, in the path or the query), else None."""
    m = re.match(r"(https?://[^/?#]+)([/?#]|$)", url.split("${", 1)[0], re.I)
    if m is None or (not m.group(2) and "${" in url):  # http://${host}, http://api${n}.x
        return None
    return m.group(1)


def _check_variables(spec: RequestSpec, known: set[str], where: str) -> None:
    """Every ``${name}`` is a known variable; ``random_int:MIN:MAX`` has MIN <= MAX."""
    texts = [spec.path or "", spec.url or "", spec.body or "", repr(spec.json_body),
             *spec.headers.keys(), *spec.headers.values()]
    used = {m.group(1) for text in texts for m in TEMPLATE.finditer(text)}
    for name in sorted(used):
        if name.startswith("random_int:"):
            _, low, high = name.split(":")
            if int(low) > int(high):
                raise ValueError(f"{where} uses ${{{name}}}: MIN ({low}) is above MAX ({high})")
    unknown = sorted(n for n in used - known if not n.startswith("random_int:"))
    if not unknown:
        return
    names = ", ".join("${" + name + "}" for name in unknown)
    given = ", ".join("${" + n + "}" for n in sorted(known) if "." in n)
    raise ValueError(f"{where} uses {names}, which no earlier step of its flow captures "
                     "(capture: {name: json.path}) and no data file gives"
                     + (f" (they give {given})" if given else "")
                     + "; built in are "
                     + ", ".join("${" + v + "}" for v in (
                         *(v for v in (*ITERATION_VARIABLES, "uuid") if v in known),
                         "random_int:MIN:MAX")))
