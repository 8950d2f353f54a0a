"""The ``perfgate`` command: ``run``, ``check``, ``compare``, ``init``, ``report``, ``plugins``,
``demo``, ``--version``, and the commands plugins add (:class:`perfgate.Command`)."""

from __future__ import annotations

import argparse
import math
import sys
import traceback
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from tabulate import tabulate

from perfgate.commands import Command, plugin_commands
from perfgate.compare import COMPARE_HEADERS, compare_results, comparison_table
from perfgate.context import RunOptions, is_loopback
from perfgate.errors import ConfigError, ExitCode, PerfgateError
from perfgate.lifecycle import execute
from perfgate.loader import load_targets
from perfgate.plugins import PluginHost
from perfgate.quickstart import QuickTarget, parse_target, targets_file
from perfgate.redact import secret_values
from perfgate.reporter_args import parse_reporter, reporter_use
from perfgate.rerender import render_reports
from perfgate.result import Baseline
from perfgate.targets import TargetsFile
from perfgate.units import parse_duration, plural
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


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text!r}")
    return value


def _duration(text: str) -> float:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0s, got {text!r}")
    return value


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reporter", "-r", action="append", default=[], metavar="NAME[=PATH]",
                   help="also write this report (repeatable): junit=out.xml, markdown=r.md; "
                        "PATH (relative to --output) replaces the file's path for NAME")
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
    p.add_argument("--history", default=None, metavar="URL",
                   help="keep the run in this run history (a SQLite file or a postgresql:// "
                        "URL) instead of the targets file's history: url")
    p.add_argument("--no-progress", action="store_true", help="no live progress line")


def build_parser(commands: Sequence[Command] = ()) -> argparse.ArgumentParser:
    parser = _Parser(prog="perfgate", description="A performance gate for services: load, "
                     "measure, judge each metric against its targets, report, exit code.")
    parser.add_argument("--version", action="version", version=f"perfgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run a targets file (or a quick gate on --url) and judge "
                                     "the results")
    run.add_argument("file", type=Path, nargs="?", help="the targets file (YAML)")
    _add_run_options(run)
    quick = run.add_argument_group(
        "a quick gate without a targets file",
        "GET --url with --vus virtual users for --duration, judged by each --target (the "
        "plan's API targets without one); the file it runs is kept in --output")
    quick.add_argument("--url", help="the URL to load (127.0.0.1 or allowed hosts only)")
    quick.add_argument("--vus", type=_whole, default=None, help="virtual users (default 10)")
    quick.add_argument("--duration", type=_duration, default=None,
                       help="how long, like 30s or 2m (default 30s)")
    quick.add_argument("--target", action="append", default=[], metavar="'METRIC: THRESHOLD'",
                       help="fail the gate when missed (repeatable): "
                            "'http.req_duration: p(95) < 200ms'")
    check = sub.add_parser("check", help="check a targets file without running anything")
    check.add_argument("file", type=Path)
    comp = sub.add_parser("compare", help="the checks of two results side by side, with "
                                          "their changes")
    comp.add_argument("before", type=Path, help="the earlier result.json")
    comp.add_argument("after", type=Path, help="the later result.json")
    init = sub.add_parser("init", help="write a commented targets file that loads a URL")
    init.add_argument("url", help="the URL to load, like http://127.0.0.1:8000/health")
    init.add_argument("--file", "-f", type=Path, default=Path("targets.yml"),
                      help="where to write it (default: targets.yml)")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.add_argument("--vus", type=_whole, default=10, help="virtual users (default 10)")
    init.add_argument("--duration", type=_duration, default=30.0,
                      help="how long, like 30s or 2m (default 30s)")
    report = sub.add_parser("report", help="run reporters on an earlier result document")
    report.add_argument("result", type=Path, help="a result.json that a run wrote")
    report.add_argument("--reporter", "-r", action="append", default=[], metavar="NAME=PATH",
                        help="a reporter and where it writes (repeatable): markdown=report.md")
    report.add_argument("--html", action="append", default=[], metavar="PATH",
                        type=lambda path: f"html={path}", dest="reporter",
                        help="short for --reporter html=PATH")
    report.add_argument("--output", "-o", type=Path, default=Path("."),
                        help="folder that relative report paths start in (default: current)")
    report.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="an earlier result.json to compare against")
    sub.add_parser("plugins", help="list installed plugins and their components")
    demo = sub.add_parser("demo", help="run the demo gate against the bundled demo service")
    _add_run_options(demo)
    for command in commands:
        command.configure(sub.add_parser(command.name, help=command.help))
    return parser


def _options(args: argparse.Namespace, default_scale: float = 1.0) -> RunOptions:
    return RunOptions(output_dir=args.output, only=args.only, fail_on=args.fail_on,
                      time_scale=args.time_scale or default_scale,
                      progress=False if args.no_progress else None, baseline=args.baseline,
                      history=args.history)


def add_reporters(targets: TargetsFile, host: PluginHost, wanted: Sequence[str]) -> None:
    """Add (or redirect) the reporters ``--reporter NAME[=PATH]`` asks for.

    ``NAME`` is a reporter the file uses (its other options stay) or any installed one;
    ``PATH`` becomes its ``path`` option, relative to ``--output`` as the file's are.
    """
    for text in wanted:
        name, _ = parse_reporter(text)
        use = reporter_use(text, host, targets.reporters.get(name))
        targets.secrets |= secret_values(use.config)
        targets.reporters[name] = use


def quick_targets(args: argparse.Namespace, host: PluginHost) -> Path:
    """Write the quick gate's targets file into ``--output`` and return its path."""
    if not is_loopback(urlsplit(args.url).hostname or ""):
        raise ConfigError(f"--url {args.url}: a quick gate loads loopback addresses only "
                          "(127.0.0.1, localhost); for another host of yours, write a file "
                          "with perfgate init URL and check its allow_hosts:")
    taken: set[str] = set()
    wanted: list[QuickTarget] = [parse_target(text, taken) for text in args.target]
    text = targets_file(args.url, vus=args.vus or 10, duration=args.duration or 30.0,
                        targets=wanted, reporters=("console", "json"),
                        installed=host.registry.names("reporter"))
    path = Path(args.output) / "perfgate-quick.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _run_file(args: argparse.Namespace, host: PluginHost) -> Path:
    """The targets file ``perfgate run`` runs: FILE, or the quick gate's from ``--url``."""
    quick = [flag for flag, value in (("--vus", args.vus), ("--duration", args.duration),
                                      ("--target", args.target)) if value]
    if args.url is None:
        if quick:
            raise ConfigError(f"{quick[0]} is for a quick gate with --url; a targets file "
                              "says it in the file")
        if args.file is None:
            raise ConfigError("perfgate run needs a targets file (perfgate run targets.yml) "
                              "or --url for a quick gate (perfgate init URL writes a file)")
        return Path(args.file)
    if args.file is not None:
        raise ConfigError(f"give a targets file or --url, not both ({args.file}, {args.url})")
    return quick_targets(args, host)


def cmd_run(args: argparse.Namespace, path: Path | None, default_scale: float = 1.0) -> int:
    host = PluginHost.load()
    if path is None:
        path = _run_file(args, host)
    targets = load_targets(path, host, only=args.only)
    add_reporters(targets, host, args.reporter)
    outcome = execute(targets, host, _options(args, default_scale))
    return outcome.exit_code


def cmd_check(args: argparse.Namespace) -> int:
    host = PluginHost.load()
    targets = load_targets(args.file, host)
    counts = ", ".join(plural(n, word) for n, word in (
        (len(targets.services), "service"), (len(targets.scenarios), "scenario"),
        (len(targets.collectors), "collector"), (len(targets.targets), "check")))
    print(f"{args.file}: OK: {counts}, reporters: {', '.join(targets.reporters) or 'none'}")
    return ExitCode.PASSED


def cmd_compare(args: argparse.Namespace) -> int:
    before, after = Baseline.load(args.before), Baseline.load(args.after)
    rows = compare_results(before, after)
    print(f"before: {args.before} ({before.result.verdict}), after: {args.after} "
          f"({after.result.verdict})")
    print(tabulate(comparison_table(rows), headers=COMPARE_HEADERS, disable_numparse=True))
    return ExitCode.PASSED


def cmd_init(args: argparse.Namespace) -> int:
    host = PluginHost.load()
    if host.registry.get("load_driver", "http") is None:
        raise ConfigError("perfgate init writes a file for the http driver, which is not "
                          "installed (perfgate-aiohttp-api, in plugins/aiohttp-api)")
    if args.file.exists() and not args.force:
        raise ConfigError(f"{args.file} exists; give --force to replace it, or --file to "
                          "write another")
    text = targets_file(args.url, vus=args.vus, duration=args.duration,
                        installed=host.registry.names("reporter"))
    args.file.parent.mkdir(parents=True, exist_ok=True)
    args.file.write_text(text)
    targets = load_targets(args.file, host)
    print(f"wrote {args.file}: {plural(len(targets.targets), 'check')} against {args.url}; "
          f"edit it, then: perfgate run {args.file}")
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


def _plugin_commands() -> list[Command]:
    commands, problems = plugin_commands(PluginHost.load())
    for problem in problems:
        print(f"perfgate: {problem}", file=sys.stderr)
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    try:
        commands = _plugin_commands()
        parser = build_parser(commands)
        args = parser.parse_args(argv)
        if args.command == "run":
            return cmd_run(args, None)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "init":
            return cmd_init(args)
        if args.command == "report":
            return render_reports(args.result, args.reporter, PluginHost.load(),
                                  output=args.output, baseline=args.baseline)
        if args.command == "plugins":
            return cmd_plugins(args)
        if args.command == "demo":
            return cmd_run(args, demo_targets(), default_scale=0.5)
        for command in commands:
            if args.command == command.name:
                return command.run(args)
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
