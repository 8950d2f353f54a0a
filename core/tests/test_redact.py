"""Secrets never reach a report: known values, URL passwords, password= pairs."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, SecretStr

from perfgate import Collector
from perfgate.redact import MASK, Redactor, secret_parts, secret_values
from perfgate.testing import run_context
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


def test_password_shapes_in_any_text_are_masked():
    text = ("dsn host=x password=hunter22 user=y; url postgresql://u:hunter33@h/db; "
            "ALTER ROLE bob PASSWORD 'hunter44'; CREATE ROLE x ENCRYPTED PASSWORD $$hunter55$$; "
            "password='it\\'s quoted'")
    masked = Redactor().text(text)
    for secret in ("hunter22", "hunter33", "hunter44", "hunter55", "quoted"):
        assert secret not in masked
    assert "ALTER ROLE bob PASSWORD '***'" in masked
    assert "host=x password=*** user=y" in masked


@pytest.mark.parametrize(("secret", "parts"), [
    ("postgresql://svc:p%40ss%2Fword@127.0.0.1:5432/app", {"p@ss/word", "p%40ss%2Fword"}),
    ("host=db password='two words' user=x", {"two words", "two%20words"}),
    ("host=db password=pw user=x", set()),  # too short to replace inside any text
    ("unix:///run/redis.sock?db=2&password=pw-123", {"pw-123"}),
    ("just-a-token", set()),
])
def test_the_passwords_inside_a_secret_url_or_dsn_are_secrets_too(secret, parts):
    assert secret_parts(secret) == parts
    masked = Redactor([secret]).text(f"said {' and '.join(sorted(parts))}")
    assert all(part not in masked for part in parts)


class Inner(BaseModel):
    token: SecretStr
    plain: str = "visible"


class Options(BaseModel):
    dsn: SecretStr
    inner: list[Inner]
    by_name: dict[str, SecretStr] = {}


def test_secret_values_are_found_at_any_depth_of_a_config():
    config = Options(dsn="host=h password=pw-1", inner=[Inner(token="tok-2")],
                     by_name={"x": "s-3", "empty": ""})
    assert secret_values(config) == {"host=h password=pw-1", "tok-2", "s-3"}


def test_a_components_secret_options_are_masked_in_its_messages_and_notes():
    class Secretive(Collector[Options]):
        name = "secretive"

    context = run_context()
    component = Secretive(Options(dsn="postgresql://u:Open-Sesame@h/db", inner=[]), context)
    component.fail("cannot connect with Open-Sesame")
    context.note("note about Open%2DSesame... and Open-Sesame")
    assert component.errors == ["cannot connect with ***"]
    assert "Open-Sesame" not in context.notes()[0]
    assert context.redact("x Open-Sesame") == "x ***"
