"""The four roles a plugin can fill, each a small base class.

A plugin subclasses one of :class:`Collector`, :class:`LoadDriver`, :class:`Validator` or
:class:`Reporter`, gives it a ``name`` (what the targets file calls it) and, if it takes
options, a pydantic ``Config`` model; then registers the class from the
``perfgate_register_components`` hook (see :mod:`perfgate.hookspecs`).

The run creates one instance per use in the targets file, with its validated config and the
:class:`~perfgate.context.RunContext`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from perfgate.metrics import Kind, MetricSet

if TYPE_CHECKING:
    from perfgate.config import ScenarioConfig, TargetsFile
    from perfgate.context import RunContext
    from perfgate.result import Check, ResultDocument


class ComponentConfig(BaseModel):
    """Base of every component's options: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    on_missing: str = "skip"
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Component:
    """What the four roles share: a registered name, a config model, the run context."""

    #: The name the targets file uses for this component (``http``, ``postgres``, ``junit``).
    name: ClassVar[str] = ""
    #: The role; set by the four base classes below.
    role: ClassVar[str] = ""
    #: The pydantic model of this component's options.
    Config: ClassVar[type[BaseModel]] = ComponentConfig
    #: One line that says what the component does (``perfgate plugins`` shows it).
    summary: ClassVar[str] = ""

    def __init__(self, config: Any, context: RunContext, instance: str | None = None) -> None:
        self.config = config
        self.context = context
        #: The key in the targets file (a collector may be used twice under two keys).
        self.instance = instance or self.name
        #: Problems met while working; checks on this component's missing metrics become
        #: ``error`` verdicts that quote them. Use :meth:`fail`.
        self.errors: list[str] = []

    def fail(self, message: str) -> None:
        """Record a problem (once per message) without stopping the run."""
        if message not in self.errors:
            self.errors.append(message)

    @classmethod
    def produces(cls, config: Any) -> list[MetricInfo]:
        """The metrics this component produces with ``config``; used to check targets."""
        return []

    @classmethod
    def builtin_targets(cls, config: Any) -> dict[str, TargetSpec]:
        """Checks this component always proposes (the user's own targets come on top)."""
        return {}


class Collector(Component):
    """Samples something in the background while scenarios run.

    :meth:`start` is called before the first scenario, :meth:`stop` after the last (or on
    Ctrl-C, or after a failure); :meth:`stop` returns everything measured. Sampling should
    happen on a thread of the collector's own; ``self.context.interval(...)`` helps.
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


class SamplingCollector(Collector):
    """A collector that calls :meth:`sample` every ``config.interval`` seconds on a thread.

    Subclasses implement :meth:`open` (connect; raise if impossible), :meth:`sample` (read
    once and record into ``self.metrics``), and optionally :meth:`finish` (turn first and last
    samples into deltas over the run window) and :meth:`close`. A failing sample is recorded
    with :meth:`fail` and sampling goes on, so a server that comes back is measured again.
    """

    #: Seconds between samples when the config has no ``interval``.
    default_interval: ClassVar[float] = 1.0

    def __init__(self, config: Any, context: RunContext, instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        self.metrics = MetricSet()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started: float | None = None
        self.ended: float | None = None

    @property
    def interval(self) -> float:
        return float(getattr(self.config, "interval", None) or self.default_interval)

    def open(self) -> None:
        """Connect to what is measured; raise with a clear message if that is impossible."""

    def sample(self, now: float) -> None:
        """Take one sample at epoch time ``now`` and record it in ``self.metrics``."""
        raise NotImplementedError

    def finish(self) -> None:
        """After the last sample: compute deltas over the window into ``self.metrics``."""

    def close(self) -> None:
        """Release connections; called once, after :meth:`finish`."""

    def start(self) -> None:
        self.open()
        self.started = time.time()
        self._sample_safely()
        self._thread = threading.Thread(target=self._loop, name=f"perfgate-{self.instance}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> MetricSet:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.interval * 2))
        self._sample_safely()
        self.ended = time.time()
        try:
            self.finish()
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                self.close()
            except Exception as exc:
                self.fail(f"while closing: {type(exc).__name__}: {exc}")
        self.metrics.set_window(self.started, self.ended)
        return self.metrics

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample_safely()

    def _sample_safely(self) -> None:
        try:
            self.sample(time.time())
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")


class LoadDriver(Component):
    """Runs one scenario (drives load or a one-off probe) and returns what it measured.

    A driver's ``ScenarioConfig`` (a subclass of :class:`perfgate.config.ScenarioConfig`)
    validates the whole scenario mapping, so each driver owns its keys (``vus``, ``stages``...).
    """

    role = "load_driver"
    ScenarioConfig: ClassVar[type[ScenarioConfig]]

    @classmethod
    def produces(cls, config: Any) -> list[MetricInfo]:  # config is the scenario here
        return []

    def run(self, scenario: ScenarioConfig) -> MetricSet:
        """Run ``scenario`` to the end, or until :meth:`interrupt`; return what was measured.

        Metrics must carry the tag ``scenario`` (the run adds it when missing). Progress goes
        through ``self.context.progress``. After an interrupt, return what was measured so far.
        """
        raise NotImplementedError

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: stop the load soon (called from the signal handler's thread)."""

    def details(self) -> dict[str, Any]:
        """Extra data for the result document (``details.<scenario>``)."""
        return {}


class Validator(Component):
    """Turns metrics and targets into checks with verdicts."""

    role = "validator"

    def validate(self, targets: TargetsFile, metrics: MetricSet,
                 result: ResultDocument) -> list[Check]:
        """Return the checks this validator makes; ``result`` holds run errors and details."""
        raise NotImplementedError


class Reporter(Component):
    """Renders the result document for people or machines."""

    role = "reporter"

    def report(self, result: ResultDocument) -> None:
        """Write the report. ``result`` is final: secrets are already redacted."""
        raise NotImplementedError


ROLES: dict[str, type[Component]] = {
    "collector": Collector,
    "load_driver": LoadDriver,
    "validator": Validator,
    "reporter": Reporter,
}
