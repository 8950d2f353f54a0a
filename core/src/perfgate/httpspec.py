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

A request's body is one of ``json``, ``body``, ``form`` (form-encoded), ``multipart`` (fields
and files) and ``body_file``; files are named relative to the targets file's folder. ``auth``
is a ``basic`` or ``bearer`` shorthand whose secret is masked in every report. ``capture``
takes a JSON path, ``header:NAME`` (a response header) or ``cookie:NAME`` (a ``Set-Cookie``).
A driver that cannot do one of these keys refuses it when the file is checked
(:func:`unsupported_keys`).

so a targets file can switch drivers without changing its requests or its targets. The models
validate one request or flow; :func:`check_requests` checks a scenario's list as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from perfgate.config import ComponentConfig, Duration
from perfgate.context import load_allowed
from perfgate.jsonpath import TEMPLATE, has_template, parse_json_path
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


#: A header name (RFC 9110, 5.1: a token) and a cookie name (RFC 6265, 4.1.1: a token too).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_capture(source: str) -> tuple[Literal["json", "header", "cookie"], Any]:
    """Where a ``capture:`` value reads from: ``("header", name)`` for ``header:NAME``,
    ``("cookie", name)`` for ``cookie:NAME`` (the response's ``Set-Cookie``), else
    ``("json", parts)`` of a JSON path. Raises ``ValueError`` saying what is wrong."""
    kind, sep, name = source.partition(":")
    if sep and kind in ("header", "cookie"):
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"capture {source!r}: {kind}: is followed by a {kind} name "
                             f"({kind}:{'X-Token' if kind == 'header' else 'session'})")
        return ("header", name.lower()) if kind == "header" else ("cookie", name)
    try:
        return "json", parse_json_path(source)
    except ValueError:
        raise ValueError(f"capture {source!r}: expected a JSON path (data.items[0].id), "
                         "header:NAME or cookie:NAME") from None


def local_file(value: str, info: ValidationInfo) -> str:
    """``value`` as an absolute path (a relative one starts at the targets file's folder,
    as ``data:`` files do); ``ValueError`` when it is not a file."""
    folder = (info.context or {}).get("targets_folder")
    path = Path(value).expanduser()
    if folder is not None and not path.is_absolute():
        path = Path(folder) / path
    if folder is not None and not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise ValueError(f"{path} {what} (a relative path starts at the targets file's "
                         "folder)")
    return str(path)


class FilePart(ComponentConfig):
    """A file in a ``multipart:`` body: ``{file: avatar.png, content_type: image/png}``."""

    file: str
    #: The ``filename`` the server sees (default: the file's own name).
    filename: str | None = None
    content_type: str = "application/octet-stream"

    @field_validator("file")
    @classmethod
    def _exists(cls, value: str, info: ValidationInfo) -> str:
        return local_file(value, info)


class BasicAuth(ComponentConfig):
    """``auth: {basic: {user, password}}``: ``Authorization: Basic ...``."""

    user: str
    password: SecretStr


class BearerAuth(ComponentConfig):
    """``auth: {bearer: {token}}``: ``Authorization: Bearer ...``."""

    token: SecretStr


class AuthSpec(ComponentConfig):
    """A request's ``auth:``: one of ``basic`` and ``bearer``; the secret is masked in every
    report (a ``SecretStr``, like every secret option)."""

    basic: BasicAuth | None = None
    bearer: BearerAuth | None = None

    @model_validator(mode="after")
    def _one(self) -> AuthSpec:
        if (self.basic is None) == (self.bearer is None):
            raise ValueError("give one of basic: {user, password} and bearer: {token}")
        return self

    def texts(self) -> list[str]:
        """The values, for checking their ``${name}`` templates."""
        if self.basic is not None:
            return [self.basic.user, self.basic.password.get_secret_value()]
        return [self.bearer.token.get_secret_value()] if self.bearer else []


def _part_kind(value: Any) -> str:
    return "file" if isinstance(value, dict | FilePart) else "text"


#: A ``multipart:`` value: text, or a ``{file: ...}`` (a problem is said for that one only).
MultipartValue = Annotated[
    Annotated[FilePart, Tag("file")] | Annotated[str | int | float, Tag("text")],
    Discriminator(_part_kind)]

#: The keys that give a request's body: at most one of them.
BODY_KEYS = ("json", "body", "form", "multipart", "body_file")


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
    #: ``application/x-www-form-urlencoded`` fields.
    form: dict[str, str | int | float | bool] | None = None
    #: ``multipart/form-data``: text fields and files (``{file: path}``).
    multipart: dict[str, MultipartValue] | None = None
    #: The body read from a file (relative to the targets file's folder), sent as it is.
    body_file: str | None = None
    auth: AuthSpec | None = None
    #: Cookies sent with this request, on top of (and over) the cookie jar's.
    cookies: dict[str, str] = Field(default_factory=dict)
    #: This request's timeout, instead of the scenario's.
    timeout: Duration | None = Field(default=None, gt=0)
    #: Redirects followed for this request, instead of the scenario's (0: none).
    max_redirects: int | None = Field(default=None, ge=0)
    weight: float = Field(default=1.0, gt=0)
    think_time: Duration = 0.0
    checks: RequestChecks | None = None
    #: Flow steps: ``{variable: json.path | header:NAME | cookie:NAME}`` taken from this
    #: response for later steps.
    capture: dict[str, str] = Field(default_factory=dict)

    @field_validator("capture")
    @classmethod
    def _captures(cls, value: dict[str, str]) -> dict[str, str]:
        for source in value.values():
            parse_capture(source)
        return value

    @field_validator("body_file")
    @classmethod
    def _body_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else local_file(value, info)

    @field_validator("cookies")
    @classmethod
    def _cookie_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"cookie name {name!r}: expected letters, digits and "
                                 "!#$%&'*+.^_`|~- only")
        return value

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
        given = [key for key in BODY_KEYS if getattr(self, _FIELD.get(key, key)) is not None]
        if len(given) > 1:
            raise ValueError(f"give one body, not {' and '.join(given)}")
        return self

    def given_keys(self) -> set[str]:
        """The keys this request sets, as the targets file writes them."""
        return {type(self).model_fields[name].alias or name for name in self.model_fields_set}

    @property
    def label(self) -> str:
        """The ``name`` tag: the request's name, else its path or URL without templates."""
        return self.name or f"{self.method} {self.path or self.url}"


_FIELD = {"json": "json_body"}


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


def unsupported_keys(requests: list[RequestSpec], flows: list[FlowSpec], driver: str,
                     supported: frozenset[str]) -> None:
    """Refuse a request key a driver does not do (``supported`` are the ones it does among
    the keys added for the ``http`` driver), and a ``capture`` from a header or a cookie
    when ``capture-headers`` is not among them; raises ``ValueError`` naming both."""
    extra = {"form", "multipart", "body_file", "auth", "cookies", "timeout", "max_redirects"}
    for spec in all_requests(requests, flows):
        refused = sorted((spec.given_keys() & extra) - supported)
        if refused:
            raise ValueError(f"request {spec.label!r}: driver {driver} does not support "
                             f"{', '.join(refused)} (driver http does)")
        if "capture-headers" not in supported:
            for source in spec.capture.values():
                if parse_capture(source)[0] != "json":
                    raise ValueError(f"request {spec.label!r}: driver {driver} captures "
                                     f"JSON paths only, not {source!r} (driver http does)")


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
             *spec.headers.keys(), *spec.headers.values(), *spec.cookies.values(),
             *(str(v) for v in (spec.form or {}).values()),
             *(str(v) for v in (spec.multipart or {}).values() if not isinstance(v, FilePart)),
             *(spec.auth.texts() if spec.auth is not None else ())]
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
