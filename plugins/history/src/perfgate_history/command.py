"""``perfgate history``: the trends of a targets file's checks over its kept runs.

::

    perfgate history targets.yml                      # a table with a sparkline per check
    perfgate history targets.yml --change-points      # and where each metric shifted
    perfgate history --history runs.db --name api.yml --branch main --since 14d
    perfgate history targets.yml --format json        # for tools

The history and the name runs are kept under come from the targets file's ``history:``
(``--history URL`` and ``--name`` take precedence).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from tabulate import tabulate

from perfgate import (
    Command,
    ConfigError,
    Duration,
    TargetsFile,
    format_value,
    load_targets_file,
)
from perfgate_history.changepoints import DEFAULT_MAX_PVALUE, DEFAULT_MIN_MAGNITUDE
from perfgate_history.provenance import history_name
from perfgate_history.store import open_history, safe_url
from perfgate_history.trends import Series, detect, series, sparkline


def history_command() -> Command:
    return Command(name="history", help="show the trends of a targets file's kept runs",
                   configure=_configure, run=run)


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", type=Path, default=None,
                   help="the targets file (its history: says where runs are kept)")
    p.add_argument("--history", metavar="URL", default=None,
                   help="the history (a SQLite file or a postgresql:// URL)")
    p.add_argument("--name", default=None,
                   help="the name runs are kept under (default: the targets file's)")
    p.add_argument("--branch", default=None, help="only runs of this git branch")
    p.add_argument("--since", default=None, metavar="WHEN",
                   help="only runs since then: a duration back from now (14d, 12h) or a "
                        "date (2026-11-01)")
    p.add_argument("--until", default=None, metavar="WHEN", help="only runs until then")
    p.add_argument("--check", action="append", default=[], metavar="NAME",
                   help="only this check (repeatable)")
    p.add_argument("--change-points", action="store_true",
                   help="find where each check's values shifted (e-divisive means)")
    p.add_argument("--max-pvalue", type=float, default=DEFAULT_MAX_PVALUE,
                   help=f"significance a shift needs (default {DEFAULT_MAX_PVALUE})")
    p.add_argument("--min-magnitude", type=float, default=DEFAULT_MIN_MAGNITUDE,
                   help="smallest relative shift reported (default "
                        f"{DEFAULT_MIN_MAGNITUDE})")
    p.add_argument("--format", choices=["table", "json"], default="table")


def parse_when(text: str, option: str, now: float | None = None) -> float:
    """``14d`` (back from now) or an ISO date/time, in epoch seconds."""
    now = time.time() if now is None else now
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        pass
    try:
        return now - TypeAdapter(Duration).validate_python(text)
    except ValidationError:
        raise ConfigError(f"{option} {text!r}: expected a duration back from now (14d, 12h) "
                          "or a date (2026-11-01)") from None


def history_url(targets: TargetsFile, given: str | None) -> str | None:
    """The history a targets file's runs go to: ``--history`` (``given``), else its
    ``history.url``, a relative file path taken from the targets file's folder."""
    if given is not None:
        return given
    configured = targets.model.history
    if configured is None:
        return None
    url = configured.url
    if "://" not in url and not url.startswith("sqlite:") and not Path(url).is_absolute():
        url = str(targets.folder / url)
    return url


def _where(args: argparse.Namespace) -> tuple[str, str]:
    """The history URL and the name to read, from the options and the targets file."""
    if args.file is None:
        if args.history is None or args.name is None:
            raise ConfigError("perfgate history needs a targets file, or --history URL "
                              "and --name NAME")
        return args.history, args.name
    targets = load_targets_file(args.file)
    url = history_url(targets, args.history)
    if url is None:
        raise ConfigError(f"{args.file}: no history: in the file; give --history URL")
    configured = targets.model.history
    name = args.name or history_name(targets.path, configured.name if configured else None)
    return url, name


def run(args: argparse.Namespace) -> int:
    url, name = _where(args)
    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    with open_history(url) as history:
        runs = history.runs(name, branch=args.branch, since=since, until=until)
        found = series(history.points(name, branch=args.branch, since=since, until=until),
                       args.check)
    if args.change_points:
        detect(found, max_pvalue=args.max_pvalue, min_magnitude=args.min_magnitude)
    if args.format == "json":
        doc: dict[str, Any] = {
            "history": safe_url(url), "name": name, "branch": args.branch,
            "runs": [{"id": r.id, "started": r.started, "finished": r.finished,
                      "status": r.status, "verdict": r.verdict, "exit_code": r.exit_code,
                      "git_commit": r.git_commit, "git_branch": r.git_branch,
                      "ci_run_id": r.ci_run_id} for r in reversed(runs)],
            "series": [s.to_dict() for s in found]}
        json.dump(doc, sys.stdout, indent=2)
        print()
        return 0
    print(f"{name}: {len(runs)} run{'s' if len(runs) != 1 else ''} in {safe_url(url)}"
          + (f", branch {args.branch}" if args.branch else ""))
    if found:
        print(table(found))
    return 0


def table(found: list[Series]) -> str:
    """One row per check: its last value, range, sparkline and (if found) shifts."""
    rows = []
    with_shifts = any(s.change_points is not None for s in found)
    for s in found:
        values = s.values
        last = format_value(values[-1], s.unit) if values else "-"
        span = (f"{format_value(min(values), s.unit)} … {format_value(max(values), s.unit)}"
                if values else "-")
        row = [s.check, s.metric, s.aggregation or "-", len(values), last, span,
               sparkline(values)]
        if with_shifts:
            shifts = [f"{c.change:+.0%} at {r.id}" for c, r in
                      zip(s.change_points or (), s.shift_runs(), strict=True)]
            row.append(", ".join(shifts) or "none")
        rows.append(row)
    headers = ["check", "metric", "aggregation", "runs", "last", "range", "trend"]
    if with_shifts:
        headers.append("shifts (run starting each)")
    return str(tabulate(rows, headers=headers))
