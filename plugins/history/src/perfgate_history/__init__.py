"""perfgate-history: the run history, noise-aware baselines from it, trends and change points.

- every run of a targets file with ``history:`` (or ``perfgate run --history URL``) is kept:
  its redacted result document and one row per check, with the git commit, branch and CI
  run id (:mod:`perfgate_history.store`, :mod:`perfgate_history.provenance`);
- the ``baseline`` validator's ``against: history`` reads the latest runs from it;
- ``perfgate history`` shows the trends, with change points (:mod:`perfgate_history.command`);
- ``perfgate baseline FILE`` is the baseline analysis of a deployment
  (:mod:`perfgate_history.baseline`);
- the ``change-points`` validator fails the gate when this run starts a shift
  (:mod:`perfgate_history.validator`).

This module is the plugin that watches runs (it brings no component, so it is active for
every targets file); the validator is a plugin of its own (entry point ``history-changes``).
"""

from __future__ import annotations

from collections.abc import Callable

from perfgate import (
    BaselineError,
    Command,
    ResultDocument,
    RunContext,
    hookimpl,
)
from perfgate_history.baseline import baseline_command
from perfgate_history.command import history_command
from perfgate_history.provenance import history_name, provenance
from perfgate_history.store import HistoryError, open_history, safe_url

__all__ = ["HistoryError", "open_history"]


@hookimpl
def perfgate_history_runs(context: RunContext, runs: int,
                          branch: str | None) -> list[ResultDocument] | None:
    config = context.history
    if config is None:
        return None
    name = history_name(context.targets.path, config.name)
    try:
        with open_history(config.url) as history:
            docs = history.documents(name, limit=runs, branch=branch)
    except HistoryError as exc:
        raise BaselineError(str(exc)) from None
    return [ResultDocument.from_dict(doc) for doc in docs]


@hookimpl
def perfgate_result_ready(context: RunContext, result: ResultDocument) -> None:
    config = context.history
    if config is None:
        return
    name = history_name(context.targets.path, config.name)
    origin = provenance(context.targets.folder)
    result.details["history"] = {
        "url": safe_url(config.url), "name": name, "git_commit": origin.commit,
        "git_branch": origin.branch, "ci_run_id": origin.ci_run_id}
    document = context.redactor.document(result.to_dict())
    with open_history(config.url) as history:
        history.store(document, name, origin)
        history.prune(name, config.keep_runs, config.keep_for)


@hookimpl
def perfgate_register_commands(register: Callable[[Command], None]) -> None:
    register(history_command())
    register(baseline_command())
