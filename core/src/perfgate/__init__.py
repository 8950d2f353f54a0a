"""perfgate: a performance gate for services.

This module is the whole public API: :func:`run` a targets file and :func:`check` one from
Python (see docs/python-api.md), and everything plugin authors use (with
:mod:`perfgate.testing` for their tests); a plugin imports nothing else from perfgate::

    from perfgate import Collector, ComponentConfig, MetricSet, Register, hookimpl

- perfgate from Python: :func:`run` (the result document back, never ``sys.exit``) and
  :func:`check` (the problems of a targets file);
- hooks: :data:`hookimpl`, :class:`Register`, :class:`Command` (a command of the
  ``perfgate`` command line), :func:`load_targets_file` and :func:`run_targets_file` for
  commands that read or run one;
- the four roles and their options: :class:`Collector`, :class:`SamplingCollector`,
  :class:`LoadDriver`, :class:`Validator`, :class:`Reporter`, each generic over its options
  model (:class:`ComponentConfig`, :class:`SamplingConfig`, :class:`DriverScenario`), with
  :class:`MetricInfo` and :class:`TargetSpec` to declare what they produce and propose
  (:func:`driver_health_target`: a load driver's check of its own saturation);
- what components see: :class:`RunContext`, :class:`RunOptions`, the checked
  :class:`TargetsFile` and its :class:`TargetUse` targets, :class:`HistoryConfig` (where
  runs are kept);
- metrics: :class:`MetricSet`, :class:`Metric`, :class:`Trend`, :class:`Kind`,
  :func:`counter_delta`, :func:`confidence_interval` and its :class:`Interval` (how sure
  an aggregation is);
- the run as it goes: :class:`LiveRun` (``context.live``), :class:`LiveUpdate` and
  :class:`ScenarioState` (what subscribers and ``Reporter.live`` get);
- results: :class:`ResultDocument`, :class:`Check`, :class:`ThresholdOutcome`,
  :class:`Verdict`, :class:`Baseline`, :func:`write_atomic`, :func:`validate_result`,
  :func:`result_schema`; what every report says the same way: :func:`headline`
  (:class:`Headline`), :func:`run_status_line` (a run cut short), :func:`check_labels`;
  why requests failed and how response checks went, per endpoint:
  :func:`request_failures` (:class:`RequestFailure`),
  :func:`failure_lines`, :func:`check_results` (:class:`CheckResult`), :func:`check_line`,
  :func:`endpoint_label`;
- thresholds and units: :func:`parse_threshold`, :func:`aggregation_unit`,
  :func:`format_selector`, :func:`parse_selector`, :func:`format_value`,
  :func:`format_delta` (a change against a baseline), :func:`format_duration`, :func:`dimension`,
  :class:`Duration`, :class:`Stage` (a ramp's stage, as every driver reads it);
- where load may go: :func:`load_allowed`, :func:`host_allowed`, :func:`address_allowed`,
  :func:`is_loopback` (``context.check_host_allowed``, ``context.check_connected``);
- secrets in URLs: :func:`userinfo_problem` (a password a URL parser would misread);
- what must die with perfgate, even on SIGKILL: :func:`watchdog`, :class:`Watchdog`; a
  process group stopped (SIGTERM, then SIGKILL): :func:`stop_group`;
- perfgate's own HTTP load, shared by drivers (``requests:`` and ``flows:``):
  :class:`RequestSpec`, :class:`FlowSpec`, :data:`BaseUrl`, :class:`RequestChecks`,
  :func:`check_requests`, :func:`check_request_hosts`, :func:`all_requests`, request bodies
  and auth (:class:`FilePart`, :class:`AuthSpec`), what a driver refuses
  (:func:`unsupported_keys`), captures (:func:`parse_capture`); JSON paths and
  templates as every driver reads them:
  :func:`parse_json_path`, :func:`json_lookup`, :func:`json_capture`, :func:`decode_json`,
  :func:`has_template`, :func:`template_value`, :func:`render_template`,
  :func:`render_templates`, :data:`MISSING`, :data:`TEMPLATE`;
- what drivers left in a result's details: :func:`scenario_details`, and the slowest traced
  requests of each scenario, :func:`slowest_requests`, :class:`SlowRequest`,
  :func:`trace_link`;
- errors, one tree under :class:`PerfgateError` (see :mod:`perfgate.errors`).
"""

from perfgate.api import check, run
from perfgate.commands import Command, load_targets_file, run_targets_file
from perfgate.components import (
    Collector,
    Component,
    LoadDriver,
    MetricInfo,
    Reporter,
    TargetSpec,
    Validator,
    driver_health_target,
)
from perfgate.config import ComponentConfig, DriverScenario, Duration, HistoryConfig, Stage
from perfgate.context import (
    RunContext,
    RunOptions,
    address_allowed,
    host_allowed,
    is_loopback,
    load_allowed,
)
from perfgate.errors import (
    BaselineError,
    ConfigError,
    PerfgateError,
    PluginError,
    RunError,
    ServiceError,
    ThresholdSyntaxError,
)
from perfgate.hookspecs import hookimpl
from perfgate.httpspec import (
    AuthSpec,
    BaseUrl,
    FilePart,
    FlowSpec,
    RequestChecks,
    RequestSpec,
    all_requests,
    check_request_hosts,
    check_requests,
    parse_capture,
    unsupported_keys,
)
from perfgate.jsonpath import (
    MISSING,
    TEMPLATE,
    decode_json,
    has_template,
    json_capture,
    json_lookup,
    parse_json_path,
    render_template,
    render_templates,
    template_value,
)
from perfgate.live import LiveRun, LiveUpdate, ScenarioState
from perfgate.metrics import Kind, Metric, MetricSet, Trend, aggregation_unit, format_selector
from perfgate.noise import Interval, confidence_interval
from perfgate.outcomes import (
    CheckResult,
    RequestFailure,
    check_line,
    check_results,
    endpoint_label,
    failure_lines,
    request_failures,
)
from perfgate.redact import userinfo_problem
from perfgate.registry import Register
from perfgate.report import Headline, check_labels, headline, run_status_line
from perfgate.result import (
    Baseline,
    Check,
    ResultDocument,
    ThresholdOutcome,
    Verdict,
    result_schema,
    validate_result,
    write_atomic,
)
from perfgate.result_details import SlowRequest, scenario_details, slowest_requests, trace_link
from perfgate.sampling import SamplingCollector, SamplingConfig, counter_delta
from perfgate.services import stop_group
from perfgate.targets import TargetsFile, TargetUse, parse_selector
from perfgate.testdata import DataSource, Feeders
from perfgate.thresholds import parse_threshold
from perfgate.units import dimension, format_delta, format_duration, format_value
from perfgate.version import __version__
from perfgate.watchdog import Watchdog, watchdog

__all__ = [
    "MISSING",
    "TEMPLATE",
    "AuthSpec",
    "BaseUrl",
    "Baseline",
    "BaselineError",
    "Check",
    "CheckResult",
    "Collector",
    "Command",
    "Component",
    "ComponentConfig",
    "ConfigError",
    "DataSource",
    "DriverScenario",
    "Duration",
    "Feeders",
    "FilePart",
    "FlowSpec",
    "Headline",
    "HistoryConfig",
    "Interval",
    "Kind",
    "LiveRun",
    "LiveUpdate",
    "LoadDriver",
    "Metric",
    "MetricInfo",
    "MetricSet",
    "PerfgateError",
    "PluginError",
    "Register",
    "Reporter",
    "RequestChecks",
    "RequestFailure",
    "RequestSpec",
    "ResultDocument",
    "RunContext",
    "RunError",
    "RunOptions",
    "SamplingCollector",
    "SamplingConfig",
    "ScenarioState",
    "ServiceError",
    "SlowRequest",
    "Stage",
    "TargetSpec",
    "TargetUse",
    "TargetsFile",
    "ThresholdOutcome",
    "ThresholdSyntaxError",
    "Trend",
    "Validator",
    "Verdict",
    "Watchdog",
    "__version__",
    "address_allowed",
    "aggregation_unit",
    "all_requests",
    "check",
    "check_labels",
    "check_line",
    "check_request_hosts",
    "check_requests",
    "check_results",
    "confidence_interval",
    "counter_delta",
    "decode_json",
    "dimension",
    "driver_health_target",
    "endpoint_label",
    "failure_lines",
    "format_delta",
    "format_duration",
    "format_selector",
    "format_value",
    "has_template",
    "headline",
    "hookimpl",
    "host_allowed",
    "is_loopback",
    "json_capture",
    "json_lookup",
    "load_allowed",
    "load_targets_file",
    "parse_capture",
    "parse_json_path",
    "parse_selector",
    "parse_threshold",
    "render_template",
    "render_templates",
    "request_failures",
    "result_schema",
    "run",
    "run_status_line",
    "run_targets_file",
    "scenario_details",
    "slowest_requests",
    "stop_group",
    "template_value",
    "trace_link",
    "unsupported_keys",
    "userinfo_problem",
    "validate_result",
    "watchdog",
    "write_atomic",
]
