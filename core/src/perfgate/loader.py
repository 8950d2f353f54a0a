"""Read a targets file into a checked, resolved :class:`TargetsFile`.

Checking happens in three steps, and every error names the file, the line and the key:

1. YAML syntax and ``${env:NAME}`` interpolation (:mod:`perfgate.yamlmap`);
2. the shape of every section (pydantic models, unknown keys get a did-you-mean);
3. the meaning: drivers, collectors and reporters exist, services exist, every target's
   threshold parses and applies to a metric that a configured component produces.
"""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from perfgate.components import (
    Collector,
    Component,
    LoadDriver,
    MetricInfo,
    Reporter,
    TargetSpec,
    Validator,
)
from perfgate.config import (
    UNITS_REQUIRED,
    ComposeConfig,
    ScenarioConfig,
    TargetConfig,
    TargetsFileModel,
)
from perfgate.context import load_allowed
from perfgate.errors import ConfigError, ConfigErrors, Location, ThresholdSyntaxError
from perfgate.metrics import format_selector
from perfgate.plugins import PluginHost, disabled_plugins
from perfgate.redact import Redactor, secret_values
from perfgate.targets import (
    ComponentUse,
    Owner,
    ScenarioUse,
    TargetsFile,
    TargetUse,
    parse_selector,
)
from perfgate.thresholds import BaselineThreshold, Threshold, parse_baseline, parse_threshold
from perfgate.yamlmap import MAX_BYTES, LineMap, Path_, format_key, load_yaml

ROLE_WORDS = {"load_driver": "driver", "collector": "collector", "reporter": "reporter",
              "validator": "validator"}
#: The targets file's component sections and the role of what each names.
SECTION_ROLES: dict[str, type[Component[Any]]] = {
    "collectors": Collector, "validators": Validator, "reporters": Reporter}
#: pydantic's wording for types that YAML users know by other names.
_PLAIN_WORDS = {"dict_type": "expected a mapping (key: value, ...)",
                "list_type": "expected a list", "string_type": "expected text"}
DEFAULT_REPORTERS: dict[str, dict[str, Any]] = {"console": {}}
DEFAULT_VALIDATORS: dict[str, dict[str, Any]] = {"thresholds": {}, "baseline": {}}
#: Validation context of everything in a targets file: durations need units there.
FILE_CONTEXT = {UNITS_REQUIRED: True}


class _Problems:
    def __init__(self, lines: LineMap, secrets: set[str]) -> None:
        self.lines = lines
        self.items: list[ConfigError] = []
        # An error quotes the value it rejects; a secret from ${env:...} must not show.
        self.redact = Redactor(secrets).text

    def add(self, message: str, key_path: Path_, prefer_key: bool = False) -> None:
        self.items.append(ConfigError(self.redact(message),
                                      self.lines.location(key_path, prefer_key),
                                      self.redact(format_key(key_path))))

    def from_validation(self, exc: ValidationError, prefix: Path_, model: type[BaseModel],
                        data: Any = None) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            key_path = (*prefix, *loc)
            kind = err["type"]
            if kind == "extra_forbidden":
                name = str(loc[-1])
                allowed = _allowed_keys(model, loc[:-1], data)
                message = f"unknown key {name!r}"
                close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
                if close:
                    message += f"; did you mean {close[0]!r}?"
                elif allowed:
                    message += f"; expected one of: {', '.join(sorted(allowed))}"
                self.add(message, key_path, prefer_key=True)
            elif kind == "missing":
                self.add(f"missing required key {str(loc[-1])!r}", key_path[:-1], True)
            else:
                msg = _PLAIN_WORDS.get(kind) or err["msg"].removeprefix("Value error, ")
                given = err.get("input")
                if given is None:  # `key:` with nothing after it: point at the key
                    self.add(f"{msg} (got an empty value)", key_path, prefer_key=True)
                    continue
                if kind not in ("value_error",) and not isinstance(given, dict | list):
                    msg += f" (got {given!r})"
                self.add(msg, key_path)

    def raise_if_any(self) -> None:
        """Raise every problem found so far, in the order they stand in the file."""
        if self.items:
            items = sorted(self.items, key=lambda e: (e.location.line or 0, e.location.column
                                                      or 0) if e.location else (0, 0))
            raise ConfigErrors(items) if len(items) > 1 else items[0]


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(tp) for a in _unwrap(arg)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return [tp]


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str]:
    """The keys the model accepts at ``loc`` (for did-you-mean)."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            for t in _unwrap(tp):
                origin = typing.get_origin(t)
                if isinstance(t, type) and issubclass(t, BaseModel):
                    f = t.model_fields.get(str(part)) or next(
                        (f for f in t.model_fields.values() if f.alias == str(part)), None)
                    if f is not None:
                        nxt.append(f.annotation)
                elif origin in (dict, Mapping) and typing.get_args(t):
                    nxt.append(typing.get_args(t)[1])
                elif origin in (list, tuple) and typing.get_args(t):
                    nxt.append(typing.get_args(t)[0])
        current = nxt
    keys: list[str] = []
    for tp in current:
        for t in _unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                # The names the file uses: a field's alias where it has one (json for json_body).
                keys.extend(f.alias or name for name, f in t.model_fields.items())
    return keys


def _validate(model: type[BaseModel], data: Any, prefix: Path_,
              problems: _Problems, context: dict[str, Any] | None = None) -> Any | None:
    """Validate ``data``; ``context`` reaches the model's validators (``info.context``)."""
    try:
        return model.model_validate(data if data is not None else {}, context=context)
    except ValidationError as exc:
        problems.from_validation(exc, prefix, model, data)
        return None


def _unknown_component(role: str, name: str, host: PluginHost) -> str:
    installed = host.registry.names(role)
    word = ROLE_WORDS[role]
    message = f"unknown {word} {name!r}" + _did_you_mean(name, installed)
    message += f" Installed {word}s: {', '.join(installed) or 'none'}."
    if name in disabled_plugins():
        message += f" (A plugin named {name!r} is blocked by PERFGATE_DISABLE_PLUGINS.)"
    return message + host.broken_hint()


def load_targets(path: str | Path, host: PluginHost, environ: dict[str, str] | None = None,
                 only: Sequence[str] = ()) -> TargetsFile:
    """Read and check a targets file, and that ``only`` (``--only``) names its scenarios;
    raise :class:`ConfigError` naming file, line and key. (The output folder and baselines
    are checked as the run begins, before anything starts.)"""
    targets = _read_targets(path, host, environ)
    unknown = [name for name in only if name not in targets.scenarios]
    if unknown:
        raise ConfigError(f"--only {unknown[0]!r}: no such scenario; the file defines: "
                          f"{', '.join(targets.scenarios) or 'none'}")
    return targets


def _read_targets(path: str | Path, host: PluginHost,
                  environ: dict[str, str] | None) -> TargetsFile:
    file = Path(path)
    try:
        with file.open("rb") as fh:  # no more than the limit is read, however big the file
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the targets file: {exc.strerror}",
                          Location(str(path))) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"the file is larger than {MAX_BYTES // 1024} KiB; a targets file "
                          "is a few kilobytes", Location(str(path)))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the targets file is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})", Location(str(path))) from None
    data, lines, secrets = load_yaml(text, str(path), environ)
    if data is None:
        raise ConfigError("the file is empty; expected a mapping that starts with 'version: 1'",
                          Location(str(path), 1, 1))
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping (version:, scenarios:, targets: ...), got "
                          f"{_yaml_type(data)}", lines.location(()))
    problems = _Problems(lines, secrets)
    if "version" not in data:
        problems.add("missing required key 'version' (write 'version: 1' at the top)",
                     ("version",))
    elif data["version"] not in (1, "1") or isinstance(data["version"], bool | float):
        problems.add(f"expected 1 (the only targets file version this perfgate reads), got "
                     f"{data['version']!r}", ("version",))
    if problems.items:
        data = {k: v for k, v in data.items() if k != "version"}
        _validate(TargetsFileModel, {"version": 1, **data}, (), problems, FILE_CONTEXT)
        problems.raise_if_any()
    model = _validate(TargetsFileModel, data, (), problems, FILE_CONTEXT)
    problems.raise_if_any()
    assert model is not None
    tf = TargetsFile(file.resolve(), hashlib.sha256(raw).hexdigest(), model, lines,
                     secrets=secrets)
    _resolve(tf, host, problems)
    problems.raise_if_any()
    return tf


def _check_compose_files(folder: Path, service: str, compose: ComposeConfig,
                         problems: _Problems) -> None:
    """Every compose file of a service exists, relative to the targets file's folder."""
    single = isinstance(compose.file, str)
    for index, file in enumerate(compose.files):
        if not (folder / file).is_file():
            key: Path_ = (("services", service, "compose", "file") if single
                          else ("services", service, "compose", "file", index))
            problems.add(f"compose file {file!r} not found (looked for {folder / file})", key)


def _resolve(tf: TargetsFile, host: PluginHost, problems: _Problems) -> None:
    """Resolve the checked model, one section after the other (each step adds its problems)."""
    # Components' validators see where the file is: relative paths in it start there.
    context = {"targets_folder": tf.folder, "targets_path": tf.path,
               "allow_hosts": list(tf.model.allow_hosts), **FILE_CONTEXT}
    _resolve_services(tf, problems)
    problems_before = len(problems.items)
    wanted_validators = _resolve_scenarios(tf, host, problems, context)
    _check_order(tf, problems)
    _resolve_components(tf, host, problems, context, "collectors", {})
    _resolve_components(tf, host, problems, context, "validators", wanted_validators)
    _resolve_components(tf, host, problems, context, "reporters", DEFAULT_REPORTERS)
    _check_names(tf, problems)
    # When a scenario or component is itself wrong, what it would produce is unknown: "no
    # component produces X" would only repeat that error, so it is not said.
    _resolve_targets(tf, problems, complete=len(problems.items) == problems_before)
    _tag_instances(tf)
    _add_builtin_targets(tf)


def _resolve_services(tf: TargetsFile, problems: _Problems) -> None:
    """Each service's host is loopback or allowed; its compose files exist."""
    model = tf.model
    for name, service in model.services.items():
        if not load_allowed(service.url, model.allow_hosts):
            host_name = urlsplit(service.url).hostname or ""
            problems.add(f"service host {host_name!r} is not loopback and not listed under "
                         "allow_hosts:; perfgate refuses to load other hosts by mistake",
                         ("services", name, "url"))
        health = service.health or ""
        if "://" in health and not load_allowed(health, model.allow_hosts):
            problems.add(f"health host {urlsplit(health).hostname or ''!r} is not loopback "
                         "and not listed under allow_hosts:; the probe goes only where load "
                         "may go", ("services", name, "health"))
        if service.compose is not None:
            _check_compose_files(tf.folder, name, service.compose, problems)


def _resolve_scenarios(tf: TargetsFile, host: PluginHost, problems: _Problems,
                       context: dict[str, Any]) -> dict[str, Any]:
    """Each scenario's driver exists and the scenario validates against the driver's model.

    :return: the validators the run uses by default: the built-in ones and those the
        scenarios' drivers bring.
    """
    model = tf.model
    wanted_validators: dict[str, Any] = dict(DEFAULT_VALIDATORS)
    for name, raw in model.scenarios.items():
        base = _validate(ScenarioConfig, raw, ("scenarios", name), problems, context)
        if base is None:
            continue
        # Said even when the driver's own keys are wrong too: every problem at once.
        known_service = base.service is None or base.service in model.services
        if not known_service:
            _unknown_name(problems, "service", str(base.service), list(model.services),
                          ("scenarios", name, "service"))
        cls = host.registry.find(LoadDriver, base.driver)
        if cls is None:
            problems.add(_unknown_component("load_driver", base.driver, host),
                         ("scenarios", name, "driver"))
            continue
        cfg = _validate(cls.Config, raw, ("scenarios", name), problems, context)
        if cfg is None:
            continue
        tf.secrets |= secret_values(cfg)
        for validator in getattr(cls, "validators", ()):
            wanted_validators.setdefault(validator, {})
        if not known_service:
            continue
        tf.scenarios[name] = ScenarioUse(name, cls, cfg)
        for info in _produces(cls, cfg, problems, ("scenarios", name)):
            tf.producers.append((info, Owner("load_driver", name)))
    return wanted_validators


def _resolve_components(tf: TargetsFile, host: PluginHost, problems: _Problems,
                        context: dict[str, Any], section: str,
                        defaults: Mapping[str, Any]) -> None:
    """Each collector, validator or reporter exists (by key or ``type:``) and its options
    validate against its ``Config``. Reporters listed replace the default ones; collectors
    and validators listed come on top of theirs."""
    base = SECTION_ROLES[section]
    role = base.role
    entries = getattr(tf.model, section) or {}
    uses = (entries or defaults) if section == "reporters" else {**defaults, **entries}
    for instance, raw in uses.items():
        options = dict(raw or {})
        type_name = str(options.pop("type", instance))
        during = options.pop("during", None) if role == "collector" else None
        key_path: Path_ = (section, instance)
        if during is not None and not _during_ok(tf, problems, during, (*key_path, "during")):
            during = None
        cls = host.registry.find(base, type_name)
        if cls is None:
            problems.add(_unknown_component(role, type_name, host),
                         (*key_path, "type") if "type" in (raw or {}) else key_path, True)
            continue
        # A collector's options may depend on when it runs: ``during`` is in the context.
        cfg = _validate(cls.Config, options, key_path, problems,
                        {**context, "during": during} if role == "collector" else context)
        if cfg is None:
            continue
        tf.secrets |= secret_values(cfg)
        getattr(tf, section)[instance] = ComponentUse(instance, cls, cfg, during=during)
        if role == "collector":
            for info in _produces(cls, cfg, problems, key_path):
                tf.producers.append((info, Owner("collector", instance)))


def _check_names(tf: TargetsFile, problems: _Problems) -> None:
    """A scenario and a collector do not share a name: both keep their details in the
    result's ``details.<name>``, where one would overwrite the other."""
    for instance in tf.collectors:
        if instance in tf.model.scenarios:
            problems.add(f"the collector {instance!r} has the name of a scenario; scenarios "
                         "and collectors keep their details under their names in the result "
                         f"(details.{instance}): rename one of them, or give the collector "
                         f"a key of its own with type: {tf.collectors[instance].cls.name}",
                         ("collectors", instance), prefer_key=True)


def _resolve_targets(tf: TargetsFile, problems: _Problems, complete: bool) -> None:
    """Each target of the file and of each scenario: selector, thresholds, producer, unit."""
    for tname, tcfg in tf.model.targets.items():
        _add_target(tf, problems, tname, tcfg, ("targets", tname), complete=complete)
    for scenario, use in tf.scenarios.items():
        for tname, tcfg in use.config.targets.items():
            _add_target(tf, problems, tname, tcfg, ("scenarios", scenario, "targets", tname),
                        scenario=scenario, complete=complete)


def _tag_instances(tf: TargetsFile) -> None:
    """A collector type used under a key of its own, or twice, tags what it measures with
    ``instance:<key>``."""
    uses_of_type: dict[str, int] = {}
    for use in tf.collectors.values():
        uses_of_type[use.cls.name] = uses_of_type.get(use.cls.name, 0) + 1
    for use in tf.collectors.values():
        if use.instance != use.cls.name or uses_of_type[use.cls.name] > 1:
            use.tags = {"instance": use.instance}


def _add_builtin_targets(tf: TargetsFile) -> None:
    """The checks collectors and drivers propose on their own (``builtin_targets()``)."""
    for use in tf.collectors.values():
        for tname, spec in use.cls.builtin_targets(use.config).items():
            _add_builtin(tf, f"{use.instance}.{tname}", spec, use.instance, scenario=None,
                         tags=use.tags)
    for scenario in tf.scenarios.values():
        for tname, spec in scenario.driver.builtin_targets(scenario.config).items():
            _add_builtin(tf, f"{scenario.name}.{tname}", spec, scenario.name,
                         scenario=scenario.name, tags={})


def _check_order(tf: TargetsFile, problems: _Problems) -> None:
    """Every ``after:`` names another scenario, and no chain of them comes back on itself."""
    model = tf.model
    after: dict[str, str] = {}
    for name, raw in model.scenarios.items():
        other = raw.get("after") if isinstance(raw, dict) else None
        if other is None:
            continue
        key_path: Path_ = ("scenarios", name, "after")
        if not isinstance(other, str) or other not in model.scenarios:
            _unknown_name(problems, "scenario", str(other), list(model.scenarios), key_path)
        elif other == name:
            problems.add(f"scenario {name!r} cannot start after itself", key_path)
        else:
            after[name] = other
    reported: set[str] = set()
    for start in after:
        chain = [start]
        while chain[-1] in after and after[chain[-1]] not in chain:
            chain.append(after[chain[-1]])
        if chain[-1] not in after:
            continue  # the chain ends at a scenario that starts on its own
        loop = chain[chain.index(after[chain[-1]]):]
        if reported.intersection(loop):
            continue
        reported.update(loop)
        keys = ", ".join(f"scenarios.{n}.after" for n in loop)
        path = " → ".join([*loop, loop[0]])
        problems.add(f"these scenarios wait for each other and none would ever start: "
                     f"{path} ({keys}); one of them must start on its own",
                     ("scenarios", loop[0], "after"))


def _during_ok(tf: TargetsFile, problems: _Problems, during: Any, key_path: Path_) -> bool:
    """``during:`` names a scenario of the file."""
    if isinstance(during, str) and during in tf.model.scenarios:
        return True
    _unknown_name(problems, "scenario", str(during), list(tf.model.scenarios), key_path)
    return False


def _did_you_mean(name: str, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for a close match, else ``"."``: ends a sentence either way."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else "."


def _yaml_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"the value {value!r}"


def _unknown_name(problems: _Problems, word: str, name: str, known: list[str],
                  key_path: Path_) -> None:
    message = f"unknown {word} {name!r}" + _did_you_mean(name, known)
    message += f" Defined {word}s: {', '.join(known) or 'none'}."
    problems.add(message, key_path)


def _produces(cls: type[Component[Any]], cfg: Any, problems: _Problems,
              key_path: Path_) -> list[MetricInfo]:
    try:
        return list(cls.produces(cfg))
    except Exception as exc:  # a plugin bug must not hide the file's real errors
        problems.add(f"{cls.__qualname__}.produces() failed: {type(exc).__name__}: {exc}",
                     key_path)
        return []


def _add_target(tf: TargetsFile, problems: _Problems, name: str, cfg: TargetConfig,
                key_path: Path_, scenario: str | None = None,
                complete: bool = True) -> None:
    try:
        metric, tags = parse_selector(cfg.metric)
    except ValueError as exc:
        problems.add(str(exc), (*key_path, "metric"))
        return
    if scenario is not None:
        tags.setdefault("scenario", scenario)
    if "scenario" in tags and tags["scenario"] not in tf.model.scenarios:
        _unknown_name(problems, "scenario", tags["scenario"], list(tf.model.scenarios),
                      (*key_path, "metric"))
        return
    if cfg.target is None and cfg.critical is None and cfg.baseline is None:
        problems.add("a target needs 'target:', 'critical:' or both (e.g. target: "
                     "p(95) < 200ms), or a 'baseline:' (e.g. p(95) <= +10%)", key_path,
                     prefer_key=True)
        return
    if cfg.abort_on_fail and cfg.critical is None:
        problems.add("abort_on_fail stops the load when the critical threshold is crossed; "
                     "this target has no 'critical:' (e.g. critical: p(95) < 1s)",
                     (*key_path, "abort_on_fail"))
        return
    before = len(problems.items)
    target = _parse(cfg.target, parse_threshold, problems, (*key_path, "target"))
    critical = _parse(cfg.critical, parse_threshold, problems, (*key_path, "critical"))
    baseline = _parse(cfg.baseline, parse_baseline, problems, (*key_path, "baseline"))
    if len(problems.items) > before:
        return
    matches = [(info, owner) for info, owner in tf.producers if info.matches(metric)]
    if not matches and not complete:
        return
    if not matches:
        names = sorted({info.name for info, _ in tf.producers})
        hint = _did_you_mean(metric, names)
        problems.add(f"no configured component produces metric {metric!r}{hint} "
                     f"Produced here: {', '.join(names) or 'nothing'}.", (*key_path, "metric"))
        return
    info = next((i for i, _ in matches if i.kind is not None), matches[0][0])
    if info.kind is not None:
        for which, threshold in (("target", target), ("critical", critical),
                                 ("baseline", baseline)):
            if threshold is None:
                continue
            why = threshold.check_applies(info.kind, info.unit)
            if why:
                problems.add(f"{why} ({metric} is a {info.kind} in {info.unit or 'numbers'})",
                             (*key_path, which))
                return
    tf.targets.append(TargetUse(
        name=name, metric=metric, tags=tags, config=cfg,
        target=target, critical=critical, baseline=baseline,
        group=scenario or "targets", scenario=scenario,
        location=tf.lines.location(key_path, prefer_key=True), info=info))


T = TypeVar("T", Threshold, BaselineThreshold)


def _parse(expression: str | None, parser: Callable[[str], T], problems: _Problems,
           key_path: Path_) -> T | None:
    """The parsed expression, or None (absent, or wrong: the problem is added)."""
    if expression is None:
        return None
    try:
        return parser(expression)
    except ThresholdSyntaxError as exc:
        problems.add(f"bad threshold: {exc.message}", key_path)
        return None


def _add_builtin(tf: TargetsFile, name: str, spec: TargetSpec, group: str,
                 scenario: str | None, tags: dict[str, str]) -> None:
    metric, wanted = parse_selector(spec.metric)
    selector = spec.metric
    if tags:  # this component's own series only (instance:<key>)
        wanted.update(tags)
        selector = format_selector(metric, wanted)
    if scenario is not None:
        wanted.setdefault("scenario", scenario)
    cfg = TargetConfig(metric=selector, target=spec.target, critical=spec.critical,
                       on_missing=spec.on_missing, description=spec.description)
    info = next((i for i, _ in tf.producers if i.matches(metric)), None)
    tf.targets.append(TargetUse(
        name=name, metric=metric, tags=wanted, config=cfg,
        target=parse_threshold(spec.target) if spec.target else None,
        critical=parse_threshold(spec.critical) if spec.critical else None,
        group=group, scenario=scenario, info=info, source=group))
