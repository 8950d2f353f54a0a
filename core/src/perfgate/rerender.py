"""``perfgate report``: reporters run again on an earlier result document.

A result document holds everything every report is rendered from, so a report can be made
after the fact: from a CI artifact downloaded later, with a reporter the run did not have,
or against another baseline. Nothing is measured or judged again; the document is read,
checked against its schema and handed to each reporter as a run would hand it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from perfgate.config import TargetsFileModel
from perfgate.context import RunContext, RunOptions
from perfgate.errors import ConfigError, ExitCode, Location
from perfgate.plugins import PluginHost
from perfgate.reporter_args import reporter_use
from perfgate.result import ResultDocument, validate_result
from perfgate.targets import TargetsFile
from perfgate.yamlmap import LineMap


def read_result(path: Path) -> ResultDocument:
    """A result document from a file, checked against the schema; :class:`ConfigError`
    naming the file (and the line, or the key) when it cannot be used."""
    import jsonschema  # as validate_result does: only when a document is read

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the result document: {exc.strerror or exc}",
                          Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not a result document: it is not UTF-8 text ({exc.reason})",
                          Location(str(path))) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not a result document: invalid JSON: {exc.msg}",
                          Location(str(path), exc.lineno, exc.colno)) from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(
            "perfgate-result/"):
        raise ConfigError("not a perfgate result document (it has no \"schema\": "
                          "\"perfgate-result/1\"); the json reporter writes one",
                          Location(str(path)))
    try:
        validate_result(doc)
    except jsonschema.ValidationError as exc:
        key = ".".join(str(p) for p in exc.absolute_path) or None
        raise ConfigError(f"not a valid result document: {exc.message}",
                          Location(str(path)), key) from None
    return ResultDocument.from_dict(doc)


def _context(result_path: Path, output: Path, baseline: Path | None) -> RunContext:
    """A context as a run's reporters get it, without a targets file: paths relative to
    ``output``, ``--baseline`` as given."""
    where = result_path.parent / "targets.yml"
    targets = TargetsFile(path=where, sha256="", model=TargetsFileModel(version=1),
                          lines=LineMap(str(where)))
    return RunContext(targets, RunOptions(output_dir=output, baseline=baseline,
                                          progress=False))


def render_reports(result_path: Path, reporters: Sequence[str], host: PluginHost, *,
                   output: Path = Path("."), baseline: Path | None = None) -> int:
    """Run ``reporters`` (``NAME=PATH`` or ``NAME``) on the document at ``result_path``.

    Everything is checked before any reporter runs: the document, each reporter's name and
    its options (exit 2). A reporter that fails does not stop the others; the exit code is
    then 3, else 0.
    """
    if not reporters:
        raise ConfigError("no reporter given: add --reporter NAME=PATH (or --html PATH)")
    if baseline is not None and not baseline.is_file():
        raise ConfigError(f"--baseline {baseline}: no such file")
    result = read_result(result_path)
    chosen = [reporter_use(text, host) for text in reporters]
    context = _context(result_path, output, baseline)
    code = 0
    for use in chosen:
        name = use.instance
        reporter = use.cls(use.config, context, name)
        try:
            reporter.report(result)
        except Exception as exc:  # one reporter's bug does not cost the others' reports
            print(f"perfgate: reporter {name!r} failed: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            code = ExitCode.BROKEN
        for problem in reporter.errors:
            print(f"perfgate: reporter {name!r}: {problem}", file=sys.stderr)
    return code
