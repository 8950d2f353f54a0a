"""The four roles a plugin can fill, each a small base class, generic over its options.

A plugin subclasses one of :class:`Collector`, :class:`LoadDriver`, :class:`Validator` or
:class:`Reporter`, parameterised with the pydantic model of its options, gives it a ``name``
(what the targets file calls it), and registers the class from the
``perfgate_register_components`` hook (see :mod:`perfgate.hookspecs`)::

    class QueueCollector(Collector[QueueConfig]):   # self.config is a QueueConfig
        name = "queue"

The run creates one instance per use in the targets file, with its validated config and the
:class:`~perfgate.context.RunContext`. A load driver's options are its scenario: the model is
a :class:`~perfgate.config.DriverScenario` and ``self.config`` is the validated scenario.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from perfgate.config import ComponentConfig, DriverScenario, ScenarioConfig
from perfgate.errors import BaselineError
from perfgate.metrics import Kind, MetricSet
from perfgate.redact import secret_values

if TYPE_CHECKING:
    from perfgate.context import RunContext
    from perfgate.live import LiveUpdate
    from perfgate.result import Baseline, Check, ResultDocument
    from perfgate.targets import TargetsFile

ConfigT = TypeVar("ConfigT", bound=ComponentConfig)
ScenarioT = TypeVar("ScenarioT", bound=ScenarioConfig)


@dataclass(frozen=True)
class MetricInfo:
    """A metric a component can produce; ``name`` may end in ``*`` to cover a family."""

    name: str
    kind: Kind | None = None
    unit: str = ""
    description: str = ""

    def matches(self, metric_name: str) -> bool:
        if self.name.endswith("*"):
            return metric_name.startswith(self.name[:-1])
        return metric_name == self.name


@dataclass
class TargetSpec:
    """A target a component proposes on its own (a built-in check), same shape as the file's."""

    metric: str
    target: str | None = None
    critical: str | None = None
    on_missing: typing.Literal["fail", "warn", "skip"] = "skip"
    description: str = ""


def driver_health_target(saturated: str) -> TargetSpec:
    """The built-in check of a load generator's own health, the same for every driver.

    ``perfgate.driver.behind_schedule`` (a rate: the share of the driver's health samples in
    which it was saturated or late) warns above 5% and fails above 20%: latencies measured by a
    saturated generator are its own. ``saturated`` says what that means for this driver.
    """
    return TargetSpec(metric="perfgate.driver.behind_schedule", target="rate < 5%",
                      critical="rate < 20%", on_missing="skip",
                      description=f"measurement invalid if {saturated} for more than 20% of "
                                  "the run")


def _config_argument(cls: type) -> type[ComponentConfig] | None:
    """The options model a class names as its base's type argument: ``Collector[X]`` → X."""
    for base in getattr(cls, "__orig_bases__", ()):
        origin = typing.get_origin(base)
        if not (isinstance(origin, type) and issubclass(origin, Component)):
            continue
        for arg in typing.get_args(base):
            if isinstance(arg, type) and issubclass(arg, ComponentConfig):
                return arg
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                raise TypeError(f"{cls.__qualname__}'s options model {arg.__name__} is a "
                                "pydantic model but not a perfgate.ComponentConfig: "
                                "subclass ComponentConfig (unknown keys are errors there)")
    return None


class Component(Generic[ConfigT]):
    """What the four roles share: a registered name, an options model, the run context."""

    #: The name the targets file uses for this component (``http``, ``postgres``, ``junit``).
    name: ClassVar[str] = ""
    #: The role; set by the four base classes below.
    role: ClassVar[str] = ""
    #: The pydantic model of this component's options: the type argument of the base class
    #: (``Reporter[JUnitConfig]``); no options by default.
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    #: One line that says what the component does (``perfgate plugins`` shows it).
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        argument = _config_argument(cls)
        if argument is None:
            return
        declared = cls.__dict__.get("Config")
        if declared is not None and declared is not argument:
            raise TypeError(f"{cls.__qualname__} is a component of {argument.__name__} but "
                            f"sets Config = {declared.__name__}: name the model once, as "
                            "the base class's type argument")
        cls.Config = argument

    def __init__(self, config: ConfigT, context: RunContext, instance: str | None = None) -> None:
        self.config = config
        self.context = context
        context.add_secret(*secret_values(config))
        #: The key in the targets file (a collector may be used twice under two keys).
        self.instance = instance or self.name
        #: Problems met while working; checks on this component's missing metrics become
        #: ``error`` verdicts that quote them. Use :meth:`fail`.
        self.errors: list[str] = []

    def fail(self, message: str) -> None:
        """Record a problem (once per message) without stopping the run.

        Secret values of the run (``${secret:...}``, secret-looking ``${env:...}``, every
        ``SecretStr`` option and the passwords inside them) are masked here, so a message
        may quote a server's error as it came.
        """
        message = self.context.redact(message)
        if message not in self.errors:
            self.errors.append(message)

    def publish(self, delta: MetricSet, at: float | None = None) -> None:
        """Hand the run what was measured since the last call: a live, mergeable delta.

        Load drivers and collectors call this about once a second (from any thread), so the
        run's metrics are live: the progress display, ``abort_on_fail`` and subscribers
        use them, and collector samples are cut to scenario windows by ``at``, the time
        the samples were taken (default: now). The deltas must add up to what the
        component returns at the end; a ``MetricSet(deltas=True)`` and its
        ``take_delta()`` do that. A :class:`~perfgate.SamplingCollector` publishes by itself.
        """
        self.context.live.publish(self.role, self.instance, delta, at)

    @classmethod
    def produces(cls, config: ConfigT) -> list[MetricInfo]:
        """The metrics this component produces with ``config``; used to check targets."""
        return []

    @classmethod
    def builtin_targets(cls, config: ConfigT) -> dict[str, TargetSpec]:
        """Checks this component always proposes (the user's own targets come on top)."""
        return {}


class Collector(Component[ConfigT]):
    """Samples something in the background while scenarios run.

    :meth:`start` is called before the first scenario, :meth:`stop` after the last (or on
    Ctrl-C, or after a failure); with ``during: <scenario>`` in the targets file, when that
    scenario starts and when it ends. :meth:`stop` returns everything measured. Sampling
    should happen on a thread of the collector's own, publishing live deltas
    (:meth:`publish`); :class:`~perfgate.SamplingCollector` does both.
    """

    role = "collector"

    def start(self) -> None:
        """Begin sampling. Raise to report that the collector cannot work."""

    def stop(self) -> MetricSet:
        """Stop sampling and return the metrics measured since :meth:`start`."""
        return MetricSet()

    def details(self) -> dict[str, Any]:
        """Extra data for the result document (``details.<instance>``), e.g. slow statements."""
        return {}


class LoadDriver(Component[ScenarioT]):
    """Runs one scenario (drives load or a one-off probe) and returns what it measured.

    The driver's options model is its scenario model, a subclass of
    :class:`~perfgate.DriverScenario` (``LoadDriver[HttpScenario]``): it validates the whole
    scenario mapping, so each driver owns its keys (``vus``, ``stages``...), and
    ``self.config`` is the validated scenario. Its validators get
    ``info.context["targets_folder"]``, where relative paths start.
    """

    role = "load_driver"
    Config: ClassVar[type[ComponentConfig]] = DriverScenario
    #: Validators the run adds whenever a scenario uses this driver (``("k6",)`` judges the
    #: thresholds of a k6 script), whether or not the targets file lists them.
    validators: ClassVar[tuple[str, ...]] = ()

    def run(self) -> MetricSet:
        """Run the scenario (``self.config``) to the end, or until :meth:`interrupt`.

        Called in a thread of its own (one per scenario; other scenarios may run at the same
        time). Return what was measured. Metrics must carry the tag ``scenario`` (the run adds
        it when missing). Publish live deltas about once a second with :meth:`publish`; extra
        progress (``planned=`` seconds) goes through ``self.context.progress``. After an
        interrupt, return what was measured so far. To fail and still hand over what was
        measured, raise an exception whose ``metrics`` attribute is a :class:`MetricSet`: the
        run keeps those metrics and records the error.
        """
        raise NotImplementedError

    def interrupt(self) -> None:
        """Stop the load soon: Ctrl-C, SIGTERM or ``abort_on_fail``. Called from another
        thread (the signal handler's, or the run's) while :meth:`run` runs: only set flags or
        signal threads and processes here."""

    def details(self) -> dict[str, Any]:
        """Extra data for the result document (``details.<scenario>``)."""
        return {}


class Validator(Component[ConfigT]):
    """Turns metrics and targets into checks with verdicts."""

    role = "validator"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        """Return the checks this validator makes; ``result`` holds run errors and details."""
        raise NotImplementedError


class Reporter(Component[ConfigT]):
    """Renders the result document for people or machines."""

    role = "reporter"

    def report(self, result: ResultDocument) -> None:
        """Write the report. ``result`` is final: secrets are already redacted."""
        raise NotImplementedError

    def read_baseline(self, configured: str | None) -> tuple[Baseline | None, str | None]:
        """The baseline to compare with (:meth:`perfgate.RunContext.baseline`) and, when it
        cannot be read, why: recorded with :meth:`fail`, so the report is still written and
        can say so. ``(None, None)`` without a baseline."""
        try:
            return self.context.baseline(configured), None
        except BaselineError as exc:
            self.fail(str(exc))
            return None, str(exc)

    def live(self, update: LiveUpdate) -> None:
        """Follow the run as it goes: called about once a second while the load runs, and
        once more when it is over (``update.final``), on the run's live thread.

        ``update.delta`` holds what was published since the previous call; merged, the
        deltas are the run's metrics. Not redacted: do not send secrets anywhere. Override
        it to export live metrics (a Pushgateway, a dashboard); the default does nothing.
        """

