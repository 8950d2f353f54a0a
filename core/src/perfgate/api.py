"""perfgate from Python: :func:`run` a targets file, :func:`check` one without running it.

::

    import perfgate

    problems = perfgate.check("perf/targets.yml")        # [] when the file is right
    result = perfgate.run("perf/targets.yml", output_dir="reports", time_scale=0.1)
    if result.exit_code != 0:
        for c in result.checks:
            print(c.verdict.value, c.name, c.message)

Neither calls ``sys.exit`` nor prints a traceback: a wrong targets file or option is a
:class:`~perfgate.ConfigError` (exit 2 on the command line), everything that happens during
the run is in the result (``result.exit_code`` is the code the command would exit with).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfgate.commands import run_targets_file
from perfgate.context import RunOptions
from perfgate.errors import ConfigError, ConfigErrors
from perfgate.loader import load_targets
from perfgate.plugins import PluginHost
from perfgate.result import ResultDocument

__all__ = ["check", "run"]


def run(path: str | Path, *, output_dir: str | Path = ".", only: Sequence[str] = (),
        fail_on: str = "fail", time_scale: float = 1.0, baseline: str | Path | None = None,
        progress: bool = False, environ: dict[str, str] | None = None) -> ResultDocument:
    """Run a targets file as ``perfgate run`` does, and return its result document.

    Services are started and stopped, the load driven, every check judged and the file's
    reporters written (into ``output_dir``), exactly as on the command line.

    :param path: the targets file.
    :param output_dir: folder for reports and service logs (``--output``).
    :param only: run only these scenarios (``--only``); the others' checks skip.
    :param fail_on: ``"warn"`` makes a missed target fail the gate (``--fail-on``).
    :param time_scale: multiply every load duration by this (``--time-scale``).
    :param baseline: an earlier result document to compare with (``--baseline``).
    :param progress: draw the progress display on stderr.
    :param environ: the variables ``${env:...}`` reads (default: ``os.environ``).
    :return: the result document (redacted, as the reporters saw it); ``exit_code`` is the
        code ``perfgate run`` would exit with (1 gate failed, 3 the run broke, 130 after
        Ctrl-C...).
    :raises ConfigError: the targets file or an option is wrong; nothing was started.
    """
    if fail_on not in ("fail", "warn"):
        raise ConfigError(f"fail_on: expected 'fail' or 'warn', got {fail_on!r}")
    if not time_scale > 0:
        raise ConfigError(f"time_scale: must be a number greater than 0, got {time_scale!r}")
    options = RunOptions(output_dir=Path(output_dir), only=list(only), fail_on=fail_on,
                         time_scale=time_scale, progress=progress,
                         baseline=None if baseline is None else Path(baseline))
    return run_targets_file(path, options, environ=environ)


def check(path: str | Path, environ: dict[str, str] | None = None) -> list[ConfigError]:
    """Check a targets file as ``perfgate check`` does, without starting anything.

    :return: every problem found (file, line and key in each: ``str(problem)``), in the
        order of the file; an empty list when the file is right.
    """
    try:
        load_targets(path, PluginHost.load(), environ)
    except ConfigErrors as exc:
        return list(exc.problems)
    except ConfigError as exc:
        return [exc]
    return []
