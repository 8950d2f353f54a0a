"""``perfgate baseline FILE``: the baseline analysis of a deployment.

A short run of every scenario of the targets file (``--time-scale``, 0.25 by default), with
its services, collectors and reporters as in ``perfgate run``; while the services run, each
one's health URL is probed for its status, answer time and version. Then, in ``--output``:

- ``baseline.json``: the run's result document with ``details.baseline``, the analysis
  (:mod:`perfgate_history.analysis`): environment, services, scenarios, every collector's
  view, and what to look at first;
- ``baseline.md``: the Markdown baseline report, what to look at first at the top.

With a history (``history:`` or ``--history URL``) the run is kept there like any other,
with the baseline document as its result. The exit code is the run's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from perfgate import Command, RunOptions, load_targets_file, run_targets_file, write_atomic
from perfgate_history.analysis import ServiceProbe, analyse, markdown
from perfgate_history.command import history_url
from perfgate_history.store import open_history

#: A baseline is a short run: the file's load durations times this, unless --time-scale.
DEFAULT_TIME_SCALE = 0.25


def baseline_command() -> Command:
    return Command(name="baseline", run=run, configure=_configure,
                   help="analyse the deployment: a short run of each scenario, every "
                        "collector's view, a report naming what to look at first")


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the targets file (YAML)")
    p.add_argument("--output", "-o", type=Path, default=Path("."),
                   help="folder for baseline.json, baseline.md and the file's own reports")
    p.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, metavar="F",
                   help=f"multiply every load duration by F (default {DEFAULT_TIME_SCALE})")
    p.add_argument("--history", default=None, metavar="URL",
                   help="keep the run in this history instead of the file's history: url")
    p.add_argument("--no-progress", action="store_true", help="no live progress line")


def run(args: argparse.Namespace) -> int:
    probe = ServiceProbe()
    options = RunOptions(output_dir=args.output, time_scale=args.time_scale,
                         progress=False if args.no_progress else None, history=args.history)
    result = run_targets_file(args.file, options, plugins=(probe,))
    analysis = analyse(result, probe.services)
    document = result.to_dict()
    document["details"]["baseline"] = analysis
    folder = Path(args.output)
    json_path = write_atomic(folder / "baseline.json", json.dumps(document, indent=2) + "\n")
    report = write_atomic(folder / "baseline.md", markdown(result, analysis))
    stored = result.details.get("history")
    if stored and not any(e.get("component") == "perfgate_result_ready"
                          for e in result.errors):
        url = history_url(load_targets_file(args.file), args.history)
        if url is not None:
            with open_history(url) as history:
                history.replace_document(str(result.run["id"]), document)
    print(f"perfgate: baseline analysis in {json_path} and {report}", file=sys.stderr)
    return result.exit_code
