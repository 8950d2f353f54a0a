"""Errors a user can cause, in one tree under :class:`PerfgateError`.

::

    PerfgateError
    ├── ConfigError            the targets file or the command line is wrong   (exit 2)
    │   ├── ThresholdSyntaxError   a threshold expression does not parse
    │   └── BaselineError          a baseline file is not a readable result document
    ├── PluginError            a plugin could not be imported or registered
    └── RunError               the run itself broke                            (exit 3)
        └── ServiceError       a service did not start or never became healthy

A traceback is for bugs only: everything here is printed as a one-line message.
The exit codes perfgate ends with are :class:`ExitCode`.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Every code the ``perfgate`` command exits with (docs/architecture.md says why)."""

    PASSED = 0  # the gate passed (warnings allowed unless --fail-on warn)
    FAILED = 1  # the gate failed: a critical threshold missed (or a target, --fail-on warn)
    CONFIG = 2  # the targets file or the command line is wrong: nothing ran
    BROKEN = 3  # the run itself broke: perfgate could not measure
    SIGHUP = 128 + signal.SIGHUP  # 129: interrupted, each signal 128 + its number
    SIGINT = 128 + signal.SIGINT  # 130
    SIGTERM = 128 + signal.SIGTERM  # 143

    @classmethod
    def after(cls, signum: int) -> ExitCode:
        """The code after a signal that stops a run (SIGINT, SIGTERM, SIGHUP)."""
        return cls(128 + signum)


class PerfgateError(Exception):
    """Root of every error perfgate reports without a traceback."""

    exit_code = ExitCode.BROKEN


@dataclass(frozen=True)
class Location:
    """Where in a file something is: ``path:line:column`` (1-based)."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class ConfigError(PerfgateError):
    """The targets file or the command line is wrong.

    :param message: what is wrong and what was expected
    :param location: file, line and column of the offending node, when known
    :param key: dotted path of the offending key (``scenarios.load.vus``)
    """

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, location: Location | None = None, key: str | None = None):
        self.message = message
        self.location = location
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}:")
        if self.key:
            parts.append(f"{self.key}:")
        parts.append(self.message)
        return " ".join(parts)


class ThresholdSyntaxError(ConfigError):
    """A threshold expression does not parse; ``position`` is the 0-based offending character."""

    def __init__(self, message: str, expression: str, position: int):
        self.expression = expression
        self.position = position
        caret = " " * position + "^"
        super().__init__(f"{message}\n    {expression}\n    {caret}")


class BaselineError(ConfigError):
    """A baseline (``--baseline FILE`` or a component's option) is not a readable result
    document: missing, not JSON, or not perfgate's. The message names the file and why."""

    def __init__(self, message: str):
        super().__init__(message)


class PluginError(PerfgateError):
    """A plugin could not be imported or registered."""


class RunError(PerfgateError):
    """The run itself broke: results are incomplete."""


class ServiceError(RunError):
    """A service perfgate manages did not start or never became healthy.

    :param service: the service's name in the targets file
    """

    def __init__(self, message: str, service: str | None = None):
        self.service = service
        super().__init__(message)


class ConfigErrors(ConfigError):
    """Several problems in one targets file, reported together (first one first)."""

    def __init__(self, problems: list[ConfigError]):
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, first.location, first.key)

    def __str__(self) -> str:
        return "\n".join(ConfigError.__str__(p) for p in self.problems)
