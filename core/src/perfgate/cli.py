"""The ``perfgate`` command: ``run``, ``check``, ``plugins``, ``demo``, ``--version``."""

from __future__ import annotations

import argparse
import math
import sys
import traceback
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import NoReturn

from tabulate import tabulate

from perfgate.api import load
from perfgate.context import RunOptions
from perfgate.errors import ConfigError, ExitCode, PerfgateError
from perfgate.lifecycle import execute
from perfgate.plugins import PluginHost
from perfgate.units import plural
from perfgate.version import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own exit code is 2 as well
        self.print_usage(sys.stderr)
        self.exit(ExitCode.CONFIG, f"perfgate: error: {message}\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, got {text!r}")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", type=Path, default=Path("."),
                   help="folder for reports and service logs (default: current folder)")
    p.add_argument("--only", action="append", default=[], metavar="SCENARIO",
                   help="run only this scenario (repeatable); other scenarios' checks skip")
    p.add_argument("--fail-on", choices=["fail", "warn"], default="fail",
                   help="'warn' makes a missed target (not only a critical one) fail the gate")
    p.add_argument("--time-scale", type=_positive, default=None, metavar="F",
                   help="multiply every load duration by F (0.05 for a quick CI smoke)")
    p.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                   help="an earlier result.json to compare against (reporters show deltas)")
    p.add_argument("--no-progress", action="store_true", help="no live progress line")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="perfgate", description="A performance gate for services: load, "
                     "measure, judge each metric against its targets, report, exit code.")
    parser.add_argument("--version", action="version", version=f"perfgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run a targets file and judge the results")
    run.add_argument("file", type=Path, help="the targets file (YAML)")
    _add_run_options(run)
    check = sub.add_parser("check", help="check a targets file without running anything")
    check.add_argument("file", type=Path)
    sub.add_parser("plugins", help="list installed plugins and their components")
    demo = sub.add_parser("demo", help="run the demo gate against the bundled demo service")
    _add_run_options(demo)
    return parser


def _options(args: argparse.Namespace, default_scale: float = 1.0) -> RunOptions:
    return RunOptions(output_dir=args.output, only=args.only, fail_on=args.fail_on,
                      time_scale=args.time_scale or default_scale,
                      progress=False if args.no_progress else None, baseline=args.baseline)


def cmd_run(args: argparse.Namespace, path: Path, default_scale: float = 1.0) -> int:
    host = PluginHost.load()
    targets = load(path, host, args.only)
    outcome = execute(targets, host, _options(args, default_scale))
    return outcome.exit_code


def cmd_check(args: argparse.Namespace) -> int:
    host = PluginHost.load()
    targets = load(args.file, host)
    counts = ", ".join(plural(n, word) for n, word in (
        (len(targets.services), "service"), (len(targets.scenarios), "scenario"),
        (len(targets.collectors), "collector"), (len(targets.targets), "check")))
    print(f"{args.file}: OK: {counts}, reporters: {', '.join(targets.reporters) or 'none'}")
    return ExitCode.PASSED


def cmd_plugins(args: argparse.Namespace) -> int:
    host = PluginHost.load()
    rows = []
    for p in sorted(host.plugins, key=lambda p: p.name):
        components = ", ".join(f"{name} ({role.replace('_', ' ')})" for role, name in
                               p.components)
        rows.append([p.name, p.distribution or "-", p.version or "-",
                     components if not p.error else f"BROKEN: {p.error}"])
    print(tabulate(rows, headers=["plugin", "distribution", "version", "components"]))
    return ExitCode.PASSED


def demo_targets() -> Path:
    try:
        return Path(str(resources.files("demo_app").joinpath("targets.yml")))
    except ModuleNotFoundError:
        raise ConfigError("the demo needs the perfgate-demo-app distribution "
                          "(pip install -e examples/demo_app)") from None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "run":
            return cmd_run(args, args.file)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "plugins":
            return cmd_plugins(args)
        if args.command == "demo":
            return cmd_run(args, demo_targets(), default_scale=0.5)
        parser.print_help()
        return ExitCode.CONFIG
    except ConfigError as exc:
        print(f"perfgate: error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    except PerfgateError as exc:
        print(f"perfgate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfgate: interrupted", file=sys.stderr)
        return ExitCode.SIGINT
    except BrokenPipeError:
        return ExitCode.BROKEN
    except Exception:  # a bug: show the traceback, but never let CI read it as "gate failed"
        traceback.print_exc()
        print("perfgate: internal error (a bug in perfgate or a plugin; see the traceback "
              "above)", file=sys.stderr)
        return ExitCode.BROKEN


if __name__ == "__main__":
    sys.exit(main())
