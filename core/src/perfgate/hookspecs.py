"""The contracts between perfgate and its plugins: every hook a plugin may implement.

A plugin is a module (or object) with functions decorated by :data:`perfgate.hookimpl`, found
through the entry-point group ``perfgate``. Most plugins implement only
:func:`perfgate_register_components`; the lifecycle hooks let a plugin watch or enrich a run.

Hooks are called with keyword arguments; an implementation may accept any subset of them.
Lifecycle hooks are called only on plugins the targets file uses (and on plugins that bring no
component); one implementation that raises is recorded as a run error and does not stop the
others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from perfgate.commands import Command
    from perfgate.context import RunContext
    from perfgate.metrics import MetricSet
    from perfgate.registry import Register
    from perfgate.result import ResultDocument

PROJECT = "perfgate"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------


@hookspec
def perfgate_register_components(register: Register) -> None:
    """Register the components (collectors, load drivers, validators, reporters) a plugin brings.

    Called each time plugins are loaded (once per ``perfgate`` command), before the targets
    file is checked, so that the file can name the components.

    :param register: call ``register(ComponentClass)`` once per component; the class is a
        subclass of :class:`perfgate.Collector`, :class:`perfgate.LoadDriver`,
        :class:`perfgate.Validator` or :class:`perfgate.Reporter` with a unique ``name``.
    :return: nothing.
    """


@hookspec
def perfgate_register_commands(register: Callable[[Command], None]) -> None:
    """Add commands to the ``perfgate`` command line (``perfgate history``).

    Called once per ``perfgate`` command, before its arguments are parsed, on every loaded
    plugin (the targets file is not read yet).

    :param register: call ``register(Command(...))`` once per command; its name must not be
        one of perfgate's own (``run``, ``check``, ``plugins``, ``demo``) or another plugin's.
    :return: nothing.
    """


# ---------------------------------------------------------------------------------------------
# Run history
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def perfgate_history_runs(context: RunContext, runs: int,
                          branch: str | None) -> list[ResultDocument] | None:
    """The latest earlier runs of this targets file from the run history, newest first.

    Called by the ``baseline`` validator with ``against: history``, before this run is
    stored. The first plugin that keeps a history and answers (not ``None``) wins.

    :param context: the run context; ``context.history`` says where the history is.
    :param runs: at most this many runs.
    :param branch: only runs of this git branch, or ``None`` for any branch.
    :return: the result documents, newest first (an empty list when there are none yet), or
        ``None`` if this plugin keeps no history. Raise :class:`perfgate.BaselineError` with
        a message naming the history when it cannot be read.
    """


# ---------------------------------------------------------------------------------------------
# Run lifecycle
# ---------------------------------------------------------------------------------------------


@hookspec
def perfgate_run_started(context: RunContext) -> None:
    """Called when a run starts: the targets file is valid, services and collectors not started.

    :param context: the run context (targets file, options, output folder, progress).
    :return: nothing. Raising here is a run error (exit 3).
    """


@hookspec
def perfgate_scenario_finished(context: RunContext, scenario: str, metrics: MetricSet,
                               error: str | None) -> None:
    """Called after each scenario, with what its load driver measured.

    Scenarios run together: this is called as each one ends, in the order they end, on the
    run's thread, while others may still be running.

    :param context: the run context.
    :param scenario: the scenario's name in the targets file.
    :param metrics: the metrics the driver returned (tagged with ``scenario``).
    :param error: the driver's error message if it failed, else ``None``.
    :return: nothing.
    """


@hookspec
def perfgate_result_ready(context: RunContext, result: ResultDocument) -> None:
    """Called once checks are judged and before reporters run; may add to ``result.details``.

    :param context: the run context.
    :param result: the result document, still mutable.
    :return: nothing.
    """


@hookspec
def perfgate_run_finished(context: RunContext, result: ResultDocument, exit_code: int) -> None:
    """Called last, after reports are written and services stopped.

    :param context: the run context.
    :param result: the final result document.
    :param exit_code: the code perfgate is about to exit with.
    :return: nothing.
    """
