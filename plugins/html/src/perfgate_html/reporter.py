"""The ``html`` reporter: writes the report file."""

from __future__ import annotations

from pydantic import Field

from perfgate import (
    ComponentConfig,
    Reporter,
    ResultDocument,
    write_atomic,
)
from perfgate_html.render import render


class HtmlConfig(ComponentConfig):
    """Options of the ``html`` reporter."""

    #: Where the report goes, relative to ``--output``.
    path: str = "report.html"
    #: An earlier result document (JSON) to compare with, relative to the targets file;
    #: ``--baseline FILE`` wins over it.
    baseline: str | None = None
    #: The headline's first words (and the page's title).
    title: str = "perfgate"
    #: Slow database statements listed per database.
    top_statements: int = Field(default=10, ge=0)


class HtmlReporter(Reporter[HtmlConfig]):
    """Renders the result as one self-contained HTML page with charts."""

    name = "html"
    summary = "one self-contained HTML report with charts (checks, scenarios, resources)"

    def report(self, result: ResultDocument) -> None:
        baseline, problem = self.read_baseline(self.config.baseline)
        text = render(result, baseline, title=self.config.title,
                      top_statements=self.config.top_statements, baseline_problem=problem)
        write_atomic(self.context.report_path(self.config.path), text)
