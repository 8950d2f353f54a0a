"""The ``frontend-lighthouse`` collector's options in the targets file.

::

    collectors:
      frontend-lighthouse:
        service: web                 # pages below are paths on this service
        pages: [/, /records]         # or full URLs; or a mapping {home: /, records: /records}
        presets: [mobile, desktop]   # Lighthouse's mobile (default) and desktop configs
        runs: 3
        aggregation: median-run      # median | optimistic | pessimistic
        when: [before, after]        # at rest, before the load and after it
        settings:                    # Lighthouse's own settings, by Lighthouse's names
          throttlingMethod: simulate
          throttling: {cpuSlowdownMultiplier: 4}
      under-load:                    # the same page while the scenario "load" runs
        type: frontend-lighthouse
        service: web
        pages: [/]
        during: load                 # perfgate's own key: start and stop with that scenario

``settings`` takes Lighthouse's names as they are (camelCase, as in a Lighthouse config or
Lighthouse CI's ``collect.settings``), so a ``lighthouserc`` can be copied over; each is
passed to the Lighthouse CLI as its flag.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from perfgate import ComponentConfig, Duration, load_allowed
from perfgate_frontend_lighthouse.browser import check_flags

Preset = Literal["mobile", "desktop"]
#: When the pages are measured: ``before`` and ``after`` the load, or ``during`` a scenario
#: (perfgate's ``during: <scenario>`` key on the collector).
When = Literal["before", "during", "after"]
#: The methods of :mod:`perfgate_frontend_lighthouse.aggregate`.
Aggregation = Literal["median-run", "median", "optimistic", "pessimistic"]
_ORDER: tuple[When, ...] = ("before", "during", "after")


class _LighthouseNames(ComponentConfig):
    """Options written with Lighthouse's camelCase names (``throttlingMethod``)."""

    model_config = ConfigDict(alias_generator=to_camel)


class Throttling(_LighthouseNames):
    """Lighthouse's ``throttling`` settings (``simulate`` uses the first two and the CPU
    multiplier; ``devtools`` the request latency and the download and upload throughput)."""

    rtt_ms: float | None = Field(default=None, ge=0)
    throughput_kbps: float | None = Field(default=None, ge=0)
    request_latency_ms: float | None = Field(default=None, ge=0)
    download_throughput_kbps: float | None = Field(default=None, ge=0)
    upload_throughput_kbps: float | None = Field(default=None, ge=0)
    cpu_slowdown_multiplier: float | None = Field(default=None, ge=0)


class ScreenEmulation(_LighthouseNames):
    """Lighthouse's ``screenEmulation`` settings."""

    mobile: bool | None = None
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    device_scale_factor: float | None = Field(default=None, gt=0)
    disabled: bool | None = None


class LighthouseSettings(_LighthouseNames):
    """The Lighthouse settings perfgate passes through (each becomes a CLI flag)."""

    throttling_method: Literal["simulate", "devtools", "provided"] | None = None
    throttling: Throttling | None = None
    form_factor: Preset | None = None
    screen_emulation: ScreenEmulation | None = None
    #: A user agent, or false to keep Chromium's own.
    emulated_user_agent: str | bool | None = None
    max_wait_for_fcp: int | None = Field(default=None, gt=0, description="ms")
    max_wait_for_load: int | None = Field(default=None, gt=0, description="ms")
    only_audits: list[str] | None = None
    skip_audits: list[str] | None = None
    blocked_url_patterns: list[str] | None = None
    #: Sent with every request of the page (cookies, tokens): secret, never in a report.
    extra_headers: dict[str, SecretStr] | None = None
    disable_storage_reset: bool | None = None
    disable_full_page_screenshot: bool | None = None
    locale: str | None = None

    def flags_mapping(self) -> dict[str, object]:
        """The settings by Lighthouse's names, secrets revealed, unset ones left out."""
        data = self.model_dump(by_alias=True, exclude_none=True)
        if self.extra_headers:
            data["extraHeaders"] = {k: v.get_secret_value()
                                    for k, v in self.extra_headers.items()}
        return data


class LighthouseConfig(ComponentConfig):
    """Options of the ``frontend-lighthouse`` collector."""

    #: The service whose pages are measured (paths in ``pages`` are on it).
    service: str | None = None
    #: Paths on ``service`` or full URLs; a mapping names each page (the ``page`` tag).
    pages: list[str] | dict[str, str] = Field(min_length=1)
    presets: list[Preset] = Field(default=["mobile"], min_length=1)
    #: Lighthouse runs per page and preset.
    runs: int = Field(default=3, ge=1, le=25)
    aggregation: Aggregation = "median-run"
    #: ``before`` the load (at rest), ``after`` it, or both (default: ``before``). Under a
    #: scenario's load: perfgate's ``during: <scenario>`` key instead.
    when: Literal["before", "after"] | list[Literal["before", "after"]] | None = None
    #: With ``during:``: how long to let the scenario run before the first page is opened.
    delay: Duration = 0.0
    #: Lighthouse categories to run and score (``frontend.<category>_score``).
    categories: list[str] = Field(default=["performance"], min_length=1)
    settings: LighthouseSettings = LighthouseSettings()
    #: Audit ids whose numbers to record (``frontend.audit.<id>``, ``..._score.<id>``) beyond
    #: those a target names.
    audits: list[str] = []
    #: More Chromium flags (perfgate's own are given once; see the README).
    chrome_flags: list[str] = []
    #: A Chromium or Chrome executable (default: ``$CHROME_PATH``, then ``chromium`` & co).
    chromium: str | None = None
    #: The Lighthouse CLI (default: the cache folder, then ``lighthouse`` on PATH).
    lighthouse: str | None = None
    #: How long one Lighthouse run may take.
    timeout: Duration = Field(default=120.0, gt=0)
    #: Where Lighthouse's reports go, under ``--output`` (a folder per collector inside).
    reports: str = "lighthouse"

    #: The scenario of perfgate's ``during:`` key, from the validation context.
    _during: str | None = PrivateAttr(default=None)

    @field_validator("when", mode="before")
    @classmethod
    def _during_is_perfgates(cls, value: object) -> object:
        if value == "during" or (isinstance(value, list) and "during" in value):
            raise ValueError("when: during is perfgate's own key now: give this collector "
                             "during: <scenario> (the scenario to measure the pages under); "
                             "for the pages at rest too, add a second frontend-lighthouse "
                             "collector with when: before")
        return value

    @field_validator("chrome_flags")
    @classmethod
    def _flags_once(cls, value: list[str]) -> list[str]:
        problems = check_flags(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        known = ("performance", "accessibility", "best-practices", "seo")
        unknown = [c for c in value if c not in known]
        if unknown:
            raise ValueError(f"unknown Lighthouse category {unknown[0]!r}; expected some of "
                             f"{', '.join(known)}")
        return value

    @field_validator("pages")
    @classmethod
    def _pages_allowed(cls, value: list[str] | dict[str, str],
                       info: ValidationInfo) -> list[str] | dict[str, str]:
        allow_hosts = (info.context or {}).get("allow_hosts", [])
        for page in value.values() if isinstance(value, dict) else value:
            if page.startswith(("http://", "https://")):
                if not load_allowed(page, allow_hosts):
                    raise ValueError(f"{page}: only loopback and hosts listed under "
                                     "allow_hosts: may be measured")
            elif not page.startswith("/"):
                raise ValueError(f"{page!r} is neither a path on the service (/...) nor an "
                                 "http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _paths_need_a_service(self) -> LighthouseConfig:
        if self.service is None and any(not url.startswith(("http://", "https://"))
                                        for _page, url in self.page_list()):
            raise ValueError("pages given as paths need service: (the service they are on)")
        return self

    @model_validator(mode="after")
    def _when_or_during(self, info: ValidationInfo) -> LighthouseConfig:
        during = (info.context or {}).get("during")
        if during is not None and self.when is not None:
            raise ValueError(f"when: and during: exclude each other: with during: {during} "
                             f"the pages are measured while {during} runs; for the pages at "
                             "rest, add a second frontend-lighthouse collector with "
                             "when: before")
        if during is None and "delay" in self.model_fields_set:
            raise ValueError("delay: is for a collector with during: <scenario> (how long "
                             "the scenario runs before the first page is opened)")
        self._during = during
        return self

    @property
    def during(self) -> str | None:
        """The scenario the pages are measured under (perfgate's ``during:``), or None."""
        return self._during

    def page_list(self) -> list[tuple[str, str]]:
        """``(name, path or URL)`` of every page; a list's entries are their own names."""
        if isinstance(self.pages, dict):
            return list(self.pages.items())
        return [(page, page) for page in self.pages]

    def phases(self) -> list[When]:
        """When to measure, in the order it happens: ``during`` alone with ``during:``."""
        if self._during is not None:
            return ["during"]
        chosen = self.when if isinstance(self.when, list) else [self.when or "before"]
        return [w for w in _ORDER if w in chosen]
