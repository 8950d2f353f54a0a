"""An in-repo plugin for end-to-end tests: a validator and a reporter that take their time, so
that a signal can come while the run judges or writes reports. Loaded with
``PERFGATE_PLUGINS=gateplugin,slowplugin``."""

from __future__ import annotations

import time
from pathlib import Path

from perfgate import Check, ComponentConfig, Reporter, ResultDocument, Validator, hookimpl


class SlowConfig(ComponentConfig):
    #: Created when the component begins: a test waits for it, then sends a signal.
    marker: str
    seconds: float = 3.0


def _linger(config: SlowConfig) -> None:
    Path(config.marker).write_text("started\n")
    deadline = time.monotonic() + config.seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)


class SlowValidator(Validator):
    """Takes its time judging (tests only): a signal can come while the run judges."""

    name = "slow"
    summary = "judges nothing, slowly (tests only)"
    Config = SlowConfig

    def validate(self, targets, metrics, result) -> list[Check]:
        _linger(self.config)
        return []


class SlowReporter(Reporter):
    """Takes its time reporting (tests only): a signal can come while reports are written."""

    name = "slow"
    summary = "reports nothing, slowly (tests only)"
    Config = SlowConfig

    def report(self, result: ResultDocument) -> None:
        _linger(self.config)


@hookimpl
def perfgate_register_components(register) -> None:
    register(SlowValidator)
    register(SlowReporter)
