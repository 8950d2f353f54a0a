"""The built-in ``json`` reporter: the result document, the canonical output of a run."""

from __future__ import annotations

import json

from perfgate import ComponentConfig, Register, Reporter, ResultDocument, hookimpl, write_atomic


class JsonConfig(ComponentConfig):
    #: Where to write, relative to ``--output``.
    path: str = "result.json"
    #: Leave out per-second series and encoded histograms for a smaller file.
    compact: bool = False


class JsonReporter(Reporter[JsonConfig]):
    """Writes the result document (schema ``perfgate-result/1``) atomically."""

    name = "json"
    summary = "the result document as JSON (the schema is in the docs)"

    def report(self, result: ResultDocument) -> None:
        doc = result.to_dict()
        if self.config.compact:
            for metric in doc["metrics"]:
                metric["series"] = []
                metric["data"] = {}
        write_atomic(self.context.report_path(self.config.path),
                     json.dumps(doc, indent=2, sort_keys=False, allow_nan=False) + "\n")


@hookimpl
def perfgate_register_components(register: Register) -> None:
    register(JsonReporter)
