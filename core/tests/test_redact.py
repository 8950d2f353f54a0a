"""Secrets never reach a report: known values, URL passwords, password= pairs."""

from __future__ import annotations

import math

import pytest

from perfgate.redact import MASK, Redactor
from perfgate.yamlmap import load_yaml


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://app:hunter2@db:5432/app", f"postgresql://app:{MASK}@db:5432/app"),
    ("redis://:pw@127.0.0.1:6379/0", f"redis://:{MASK}@127.0.0.1:6379/0"),
    ("host=db user=app password=hunter2 dbname=x", f"host=db user=app password={MASK} dbname=x"),
    ("password='two words'", f"password={MASK}"),
    ("http://127.0.0.1:8000/health", "http://127.0.0.1:8000/health"),
    ("no secrets here", "no secrets here"),
])
def test_url_and_keyword_passwords_are_masked(text, expected):
    assert Redactor().text(text) == expected


def test_known_secret_values_are_masked_everywhere_in_a_document():
    redactor = Redactor(["tok-123456", "tok-123456-long"])
    doc = {"a": ["x tok-123456-long y", {"b": "tok-123456"}], "n": 1.5, "bad": math.inf,
           "tok-123456": "key too"}
    assert redactor.document(doc) == {"a": [f"x {MASK} y", {"b": MASK}], "n": 1.5,
                                      "bad": None, MASK: "key too"}


def test_interpolation_marks_secret_values():
    env = {"PGPASSWORD": "pw-1", "API_TOKEN": "tok-2", "PORT": "8000", "PLAIN": "visible",
           "OTHER": "s-3"}
    text = ("a: ${env:PGPASSWORD}\nb: ${env:API_TOKEN}\nc: ${env:PORT}\nd: ${env:PLAIN}\n"
            "e: ${secret:OTHER}\nf: ${env:UNSET:-fallback}\n")
    data, _, secrets = load_yaml(text, "t.yml", env)
    assert data == {"a": "pw-1", "b": "tok-2", "c": "8000", "d": "visible", "e": "s-3",
                    "f": "fallback"}
    assert secrets == {"pw-1", "tok-2", "s-3"}
