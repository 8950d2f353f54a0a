"""The ``markdown`` reporter: writes the report file and the GitHub Actions job summary."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from perfgate import (
    ComponentConfig,
    Reporter,
    ResultDocument,
    write_atomic,
)
from perfgate_markdown._text import code
from perfgate_markdown.render import render

#: GitHub refuses a job summary larger than 1 MiB; leave room for other steps' summaries.
STEP_SUMMARY_LIMIT = 1000 * 1024


class MarkdownConfig(ComponentConfig):
    """Options of the ``markdown`` reporter."""

    #: Where the report goes, relative to ``--output``.
    path: str = "report.md"
    #: An earlier result document (JSON) to compare with, relative to the targets file;
    #: ``--baseline FILE`` wins over it.
    baseline: str | None = None
    #: Append the report to ``$GITHUB_STEP_SUMMARY`` when that variable is set.
    step_summary: bool = True
    #: The headline's first words.
    title: str = "perfgate"
    #: Slow database statements listed per database.
    top_statements: int = Field(default=10, ge=0)
    #: A tracing UI's address with ``{trace_id}`` (Jaeger:
    #: ``http://127.0.0.1:16686/trace/{trace_id}``): the slowest requests link to their traces.
    trace_url: str | None = None


class MarkdownReporter(Reporter[MarkdownConfig]):
    """Renders the result as Markdown for pull requests and CI job summaries."""

    name = "markdown"
    summary = "a Markdown report (checks, requests, resources, environment) for people"

    def report(self, result: ResultDocument) -> None:
        baseline, problem = self.read_baseline(self.config.baseline)
        text = render(result, baseline, title=self.config.title,
                      top_statements=self.config.top_statements, baseline_problem=problem,
                      trace_url=self.config.trace_url)
        write_atomic(self.context.report_path(self.config.path), text)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if self.config.step_summary and summary:
            self._append_step_summary(Path(summary), text)

    def _append_step_summary(self, path: Path, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > STEP_SUMMARY_LIMIT:
            cut = data[:STEP_SUMMARY_LIMIT].decode("utf-8", "ignore").rsplit("\n", 1)[0]
            text = cut + "\n\n> The report was cut here to fit the job summary; " \
                         f"the whole report is in {code(self.config.path, in_table=False)}.\n"
        try:
            with path.open("a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            self.fail(f"cannot append to GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}")
