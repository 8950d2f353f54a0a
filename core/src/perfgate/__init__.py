"""perfgate: a performance gate for services.

The public API a plugin author needs lives here::

    from perfgate import hookimpl, LoadDriver, Collector, Reporter, Validator, MetricSet
"""

from perfgate.components import (
    Collector,
    Component,
    ComponentConfig,
    LoadDriver,
    MetricInfo,
    Reporter,
    SamplingCollector,
    SamplingConfig,
    TargetSpec,
    Validator,
)
from perfgate.config import DriverScenario, Duration, ScenarioConfig, ServiceConfig, TargetConfig
from perfgate.context import RunContext, RunOptions
from perfgate.errors import (
    ConfigError,
    Location,
    PerfgateError,
    PluginError,
    RunError,
    ServiceError,
    ThresholdSyntaxError,
)
from perfgate.hookspecs import hookimpl
from perfgate.metrics import Counter, Gauge, Kind, Metric, MetricSet, Rate, Trend
from perfgate.result import Check, ResultDocument, ThresholdOutcome, Verdict

__version__ = "0.1.0"

__all__ = [
    "Check",
    "Collector",
    "Component",
    "ComponentConfig",
    "ConfigError",
    "Counter",
    "DriverScenario",
    "Duration",
    "Gauge",
    "Kind",
    "LoadDriver",
    "Location",
    "Metric",
    "MetricInfo",
    "MetricSet",
    "PerfgateError",
    "PluginError",
    "Rate",
    "Reporter",
    "ResultDocument",
    "RunContext",
    "RunError",
    "RunOptions",
    "SamplingCollector",
    "SamplingConfig",
    "ScenarioConfig",
    "ServiceConfig",
    "ServiceError",
    "TargetConfig",
    "TargetSpec",
    "ThresholdOutcome",
    "ThresholdSyntaxError",
    "Trend",
    "Validator",
    "Verdict",
    "__version__",
    "hookimpl",
]
