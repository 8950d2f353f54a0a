"""The ``html`` reporter: writes the report file."""

from __future__ import annotations

from pydantic import Field

from perfgate import (
    BaselineError,
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
    #: Earlier runs from the run history (``history:``) each check is charted over; 0: none.
    history_runs: int = Field(default=30, ge=0, le=1000)


class HtmlReporter(Reporter[HtmlConfig]):
    """Renders the result as one self-contained HTML page with charts."""

    name = "html"
    summary = "one self-contained HTML report with charts (checks, scenarios, resources)"

    def report(self, result: ResultDocument) -> None:
        baseline, problem = self.read_baseline(self.config.baseline)
        history, history_problem = self._history(result)
        text = render(result, baseline, title=self.config.title,
                      top_statements=self.config.top_statements, baseline_problem=problem,
                      history=history, history_problem=history_problem)
        write_atomic(self.context.report_path(self.config.path), text)

    def _history(self, result: ResultDocument) -> tuple[list[ResultDocument], str | None]:
        """Runs before ``result`` to chart, newest first (none without ``history:``), and
        why they could not be read (recorded with :meth:`fail`: the report is still
        written). A run is stored before its reports are written, so it is left out here."""
        wanted = self.config.history_runs
        if self.context.history is None or not wanted:
            return [], None
        try:
            runs = self.context.history_runs(wanted + 1)
        except BaselineError as exc:
            self.fail(f"the run history: {exc}")
            return [], str(exc)
        this = result.run.get("id")
        return [doc for doc in runs if doc.run.get("id") != this][:wanted], None
