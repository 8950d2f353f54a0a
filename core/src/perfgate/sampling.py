"""Collectors that sample on a thread of their own, and the arithmetic of cumulative counters.

:class:`SamplingCollector` calls :meth:`~SamplingCollector.sample` every ``interval`` and keeps
the books of a server that goes away and comes back; :class:`SamplingConfig` brings the
``interval`` and ``timeout`` options; :func:`counter_delta` turns two readings of a counter
that a server counts since it started into what happened between them, across a restart.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from perfgate.components import Collector, ConfigT
from perfgate.config import ComponentConfig, Duration
from perfgate.metrics import MetricSet

if TYPE_CHECKING:
    from perfgate.context import RunContext


class SamplingConfig(ComponentConfig):
    """Base of the options of a :class:`SamplingCollector` that samples a server.

    ::

        class RedisConfig(SamplingConfig):   # interval: 1s and timeout: 5s come from here
            url: SecretStr
    """

    #: Time between samples; more than 0s.
    interval: Duration = 1.0
    #: How long connecting, or one sample, may take before the server counts as not
    #: answering (a sample still waiting then is aborted and recorded as failed). The
    #: collector enforces it where it connects and reads.
    timeout: Duration = Field(default=5.0, gt=0)

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("interval must be more than 0s")
        return value


def counter_delta(before: float | None, now: float, *, restarted: bool = False) -> float:
    """Growth of a cumulative counter between two readings.

    A server counts since it started (or since its statistics were reset); when the counter
    went down, or the server says it ``restarted`` (a new run id, a later start time), what
    it counts now is what happened since, so that is the growth. The first reading
    (``before`` is None) counts as a start from zero.
    """
    if before is None or restarted or now < before:
        return now
    return now - before


def _clock(t: float) -> str:
    """Epoch time ``t`` as the local wall clock, for messages: ``14:03:27``."""
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


class SamplingCollector(Collector[ConfigT]):
    """A collector that calls :meth:`sample` every ``config.interval`` seconds on a thread.

    Subclasses implement :meth:`open` (connect; raise if impossible), :meth:`sample` (read
    once and record into ``self.metrics``), and optionally :meth:`finish` (turn first and last
    samples into deltas over the run window) and :meth:`close`. A failing sample is recorded
    with :meth:`fail` and sampling goes on, so a server that comes back is measured again.

    A collector of a server that can go away mid-run (a database, a cache) reports each
    sample's outcome with :meth:`sample_succeeded` or :meth:`sample_failed`, and names the
    server in :meth:`describe`. The base then:

    - records the first failed sample of an outage with :meth:`fail` (``cannot sample`` before
      any good sample, ``lost`` after one) and only counts the rest of it;
    - notes in the run context when the server ``answered again`` after failing;
    - at :meth:`stop`, before :meth:`finish`, leaves every metric out (with a :meth:`fail`
      that says when it was measured) if the server was still not answering at the end:
      numbers from part of the run must not judge a run the server did not survive;
    - after :meth:`finish`, sets the window of every metric to the first and last good
      sample; :meth:`sampling_details` gives that window and the counts for :meth:`details`.

    A collector that never calls them (``system``) is left as it is.
    """

    #: Seconds between samples when the config has no ``interval``.
    default_interval: ClassVar[float] = 1.0

    def __init__(self, config: ConfigT, context: RunContext, instance: str | None = None) -> None:
        super().__init__(config, context, instance)
        #: What :meth:`sample` records into; its changes are published after each sample.
        self.metrics = MetricSet(deltas=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started: float | None = None
        self.ended: float | None = None
        #: Samples reported with :meth:`sample_succeeded` and with :meth:`sample_failed`.
        self.samples_ok = 0
        self.samples_failed = 0
        #: Epoch times of the first and the last good sample; ``None`` before one.
        self.first_ok: float | None = None
        self.last_ok: float | None = None
        #: Time of the first failed sample of the outage going on; ``None`` while samples
        #: succeed.
        self.failing_since: float | None = None

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

    # -- outages -------------------------------------------------------------------------
    def describe(self) -> str:
        """The server sampled, as messages name it (``127.0.0.1:6379/0``); never a secret."""
        return self.instance

    def sample_succeeded(self, at: float) -> None:
        """Count a good sample read at epoch time ``at``, before recording its values.

        After failed samples, notes that the server answered again, and since when it had not.
        """
        if self.failing_since is not None:
            self.context.note(f"{self.name}: {self.describe()} answered again at {_clock(at)} "
                              f"after failing since {_clock(self.failing_since)}")
            self.failing_since = None
        self.samples_ok += 1
        if self.first_ok is None:
            self.first_ok = at
        self.last_ok = at

    def sample_failed(self, reason: str, now: float) -> None:
        """Count a sample that could not be read at epoch time ``now``.

        The first failure of an outage is recorded with :meth:`fail`:
        ``<name>: cannot sample <server> at <time>: <reason>`` before any good sample,
        ``<name>: lost <server> at <time>: <reason>`` after one. ``reason`` is one line.
        """
        self.samples_failed += 1
        if self.failing_since is not None:
            return  # already reported; the summary at the end says how long it lasted
        self.failing_since = now
        verb = "cannot sample" if self.last_ok is None else "lost"
        self.fail(f"{self.name}: {verb} {self.describe()} at {_clock(now)}: {reason}")

    def sampling_details(self) -> dict[str, Any]:
        """``window`` (first and last good sample), ``samples`` and ``failed_samples``."""
        return {
            "window": {"start": self.first_ok, "end": self.last_ok},
            "samples": self.samples_ok,
            "failed_samples": self.samples_failed,
        }

    def _leave_out_after_outage(self) -> None:
        """Drop every metric if the server had answered but did not answer at the end."""
        if self.failing_since is None or self.last_ok is None:
            return
        # Checks on metrics left out become errors that quote this message.
        self.fail(f"{self.name}: {self.describe()} did not answer from "
                  f"{_clock(self.failing_since)} to the end of the run; its metrics "
                  f"(measured {_clock(self.first_ok or self.last_ok)} to "
                  f"{_clock(self.last_ok)} only) are left out")
        self.metrics = MetricSet(deltas=True)

    # -- the thread ----------------------------------------------------------------------
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
            self._leave_out_after_outage()
            self.finish()
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                self.close()
            except Exception as exc:
                self.fail(f"while closing: {type(exc).__name__}: {exc}")
        if self.first_ok is not None and self.last_ok is not None:
            for metric in self.metrics:
                metric.set_window(self.first_ok, self.last_ok)
        self.metrics.set_window(self.started, self.ended)
        self._publish(self.ended)
        return self.metrics

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample_safely()

    def _sample_safely(self) -> None:
        now = time.time()
        try:
            self.sample(now)
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")
        self._publish(now)

    def _publish(self, at: float) -> None:
        """Hand the run what was recorded since the last sample, as taken at ``at``."""
        if not self.metrics.keeps_deltas:  # a subclass put a plain set there
            return
        delta = self.metrics.take_delta()
        if len(delta):
            self.publish(delta, at)
