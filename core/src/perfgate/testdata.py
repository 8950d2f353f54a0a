"""Test data for perfgate's own HTTP load: ``data:`` files fed to requests and flows, and the
variables their ``${...}`` templates read.

::

    data:
      users: {file: users.csv, mode: per-vu}     # columns: name, password
    flows:
      - name: sign-in
        steps:
          - {method: POST, path: /login, json: {user: "${users.name}", id: "${uuid}"}}

A data file is a CSV file with a header row, or a JSON array of objects (or of plain values,
read as ``${users}``). It is read once, when the targets file is checked, and its rows are
shared by every virtual user, as k6's ``SharedArray`` is: a driver hands them to its worker
processes once, never to each VU. Each iteration takes one row of each file; its ``mode``
says which:

============== ================================================================================
``per-vu``     the row of the VU's number (VU 1 the first row...): each VU keeps its row
``per-iteration`` the row of the VU's iteration number: every VU walks the rows in order
``sequential`` the next row of one sequence that all VUs share (k6's ``iterationInTest``)
``random``     a row drawn at random
============== ================================================================================

and wraps around after the last row. The variables of an iteration (:class:`Feeders`): ``vu``
(1, 2, ... across all worker processes), ``iteration`` (the VU's, from 0), ``NAME.COLUMN`` of
each file's row; and, new at each use, ``uuid`` and ``random_int:MIN:MAX``
(:func:`perfgate.render_template`).
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationInfo, model_validator

from perfgate.config import ComponentConfig

Mode = Literal["per-vu", "per-iteration", "sequential", "random"]
#: A row: a CSV line or a JSON object (column → text), or a JSON array's plain value.
Row = dict[str, str] | str
#: The variables every iteration has, whatever its data.
ITERATION_VARIABLES = ("vu", "iteration")


class DataSource(ComponentConfig):
    """One ``data:`` entry: a CSV or JSON file (or the rows themselves) and how its rows are
    picked."""

    #: The file, relative to the targets file's folder.
    file: str | None = None
    #: ``csv`` or ``json``; by default from the file's suffix.
    format: Literal["csv", "json"] | None = None
    mode: Mode = "sequential"
    #: The rows: read from ``file`` when the targets file is checked, or given here.
    rows: list[Row] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any, info: ValidationInfo) -> Any:
        """Read the rows now, once: a missing or malformed file is an error of the targets
        file, and the rows travel with the scenario to worker processes, which read nothing.
        The path becomes absolute."""
        if not isinstance(data, dict) or data.get("rows") is not None:
            return data
        file = data.get("file")
        if not isinstance(file, str):
            return data  # the model says what is wrong with it, or _given() that it is missing
        folder = (info.context or {}).get("targets_folder")
        path = Path(file)
        if folder is not None and not path.is_absolute():
            path = Path(folder) / path
        fmt = data.get("format")
        return {**data, "file": str(path),
                "rows": read_rows(path, fmt if isinstance(fmt, str) else None)}

    @model_validator(mode="after")
    def _given(self) -> DataSource:
        if self.rows is None:
            raise ValueError("give file: (a CSV or JSON file) or rows:")
        if not self.rows:
            raise ValueError("rows: is empty; give at least one row")
        return self

    def variables(self, name: str) -> set[str]:
        """The template variables this file gives as ``name``: ``name.COLUMN`` each, or
        ``name`` for plain values."""
        out: set[str] = set()
        for row in self.rows or ():
            if isinstance(row, str):
                out.add(name)
            else:
                out.update(f"{name}.{column}" for column in row)
        return out


def read_rows(path: Path, format: str | None = None) -> list[Row]:
    """The rows of a CSV (header first) or JSON (an array) file; ``ValueError`` says what is
    wrong, naming the file and, for CSV, the line."""
    kind = format or path.suffix.lower().lstrip(".")
    if kind not in ("csv", "json"):
        raise ValueError(f"{path}: give format: csv or json (the suffix does not say which)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason})") from None
    rows = _csv_rows(path, text) if kind == "csv" else _json_rows(path, text)
    if not rows:
        raise ValueError(f"{path} has no rows")
    return rows


def _csv_rows(path: Path, text: str) -> list[Row]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not all(column.strip() for column in header):
        raise ValueError(f"{path}:1: the first line names the columns (name,password), "
                         "and none may be empty")
    header = [column.strip() for column in header]
    if len(set(header)) < len(header):
        raise ValueError(f"{path}:1: a column is named twice")
    rows: list[Row] = []
    for values in reader:
        if not values:
            continue  # an empty line
        if len(values) != len(header):
            raise ValueError(f"{path}:{reader.line_num}: {len(values)} values for "
                             f"{len(header)} columns ({', '.join(header)})")
        rows.append(dict(zip(header, values, strict=True)))
    return rows


def _json_rows(path: Path, text: str) -> list[Row]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(doc, list):
        raise ValueError(f"{path}: expected a JSON array of rows ([{{\"name\": ...}}, ...])")
    rows: list[Row] = []
    for index, item in enumerate(doc):
        if isinstance(item, dict):
            rows.append({str(k): _text(v) for k, v in item.items()})
        elif isinstance(item, list):
            raise ValueError(f"{path}: row {index} is an array; expected an object or a value")
        else:
            rows.append(_text(item))
    return rows


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class Feeders:
    """The rows and variables of each iteration, for one process's share of the VUs.

    :param data: the scenario's ``data:`` as name → (rows, mode): plain data, so that it can
        be sent to worker processes once.
    :param worker: this process's index, of ``workers``: VU numbers and the shared sequence
        are split between processes so that no two share a VU number or a row.
    """

    def __init__(self, data: dict[str, tuple[list[Row], Mode]], worker: int = 0,
                 workers: int = 1, seed: int | None = None) -> None:
        self.data = data
        self.worker, self.workers = worker, workers
        self._next = {name: itertools.count(worker, workers) for name in data}
        self._random = random.Random(seed)

    @classmethod
    def of(cls, sources: dict[str, DataSource]) -> dict[str, tuple[list[Row], Mode]]:
        """The plain data of a scenario's ``data:``, to build :class:`Feeders` from."""
        return {name: (source.rows or [], source.mode) for name, source in sources.items()}

    def vu_number(self, index: int) -> int:
        """The number (from 1, across all processes) of this process's ``index``-th VU."""
        return index * self.workers + self.worker + 1

    def values(self, vu: int, iteration: int) -> dict[str, str]:
        """The variables of iteration ``iteration`` (from 0) of VU number ``vu``."""
        out = {"vu": str(vu), "iteration": str(iteration)}
        for name, (rows, mode) in self.data.items():
            if mode == "per-vu":
                index = vu - 1
            elif mode == "per-iteration":
                index = iteration
            elif mode == "sequential":
                index = next(self._next[name])
            else:
                index = self._random.randrange(len(rows))
            row = rows[index % len(rows)]
            if isinstance(row, str):
                out[name] = row
            else:
                out.update((f"{name}.{column}", value) for column, value in row.items())
        return out
