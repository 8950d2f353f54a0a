"""Secrets never reach a report: known values, URL passwords, password= pairs."""

from __future__ import annotations

import base64
import json
import math
from urllib.parse import quote, quote_plus

import pytest
from pydantic import SecretStr

from perfgate import Collector, ComponentConfig
from perfgate.redact import MASK, Redactor, secret_parts, secret_values, userinfo_problem
from perfgate.testing import run_context, run_targets
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
           "tok-123456": "a key is a name"}
    assert redactor.document(doc) == {"a": [f"x {MASK} y", {"b": MASK}], "n": 1.5,
                                      "bad": None, "tok-123456": "a key is a name"}
    assert redactor.document(doc, keys=True)[MASK] == "a key is a name"


@pytest.mark.usefixtures("test_plugins")
def test_a_one_character_secret_leaves_the_documents_keys_whole(tmp_path):
    # "x" is inside "expression", "max" and "description": masked in keys, the document
    # could not be read back (a KeyError in from_dict).
    outcome = run_targets("""
        version: 1
        collectors: {crashy: {value: 1, dsn: "${secret:ONE}"}}
        targets:
          value: {metric: crashy.value, target: max < 5, critical: value == 1}
        """, output_dir=tmp_path, environ={"ONE": "x"})
    assert outcome.exit_code == 0, outcome.result.errors
    check = next(c for c in outcome.result.checks if c.name == "value")
    assert check.critical is not None and check.critical.expression == "value == 1"
    assert check.target is not None and check.target.expression == "ma*** < 5"


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


class Inner(ComponentConfig):
    token: SecretStr
    plain: str = "visible"


class Options(ComponentConfig):
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


TOKEN = "tok_AbC/123+xyz=QQ"


@pytest.mark.parametrize("form", [
    pytest.param(TOKEN, id="as is"),
    pytest.param(quote(TOKEN, safe=""), id="encodeURIComponent"),
    pytest.param(quote(TOKEN, safe="").replace("%2F", "%2f").replace("%2B", "%2b")
                 .replace("%3D", "%3d"), id="lower-case hex"),
    pytest.param(quote_plus(TOKEN), id="form-encoded"),
    pytest.param(quote(TOKEN), id="path-encoded"),
    pytest.param(json.dumps(TOKEN)[1:-1], id="JSON-escaped"),
    pytest.param(base64.b64encode(TOKEN.encode()).decode(), id="base64"),
    pytest.param(base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
                 id="base64url"),
])
def test_a_secret_is_masked_in_its_encoded_forms(form):
    text = f"GET /x?token={form}&page=2"
    masked = Redactor([TOKEN]).text(text)
    assert form not in masked and masked.endswith("&page=2")


@pytest.mark.parametrize("prefix", ["user:", "u:", "ab", ""])
def test_a_secret_inside_longer_base64_is_masked(prefix):
    # Authorization: Basic base64(user:secret): the secret at any of the 3 byte offsets
    encoded = base64.b64encode(f"{prefix}{TOKEN}".encode()).decode()
    masked = Redactor([TOKEN]).text(f"Authorization: Basic {encoded}")
    decoded = masked.removeprefix("Authorization: Basic ").replace(MASK, "")
    assert MASK in masked
    assert "123+xyz" not in base64.b64decode(decoded + "===", validate=False).decode(
        "latin-1")


@pytest.mark.parametrize("text", [f"token {TOKEN[:10]}... (truncated)",
                                  f"...{TOKEN[-9:]} at the end"])
def test_a_secret_cut_short_is_masked(text):
    masked = Redactor([TOKEN]).text(text)
    assert TOKEN[:8] not in masked and TOKEN[-8:] not in masked and MASK in masked


def test_a_url_secret_is_not_masked_by_its_public_start_or_end():
    redactor = Redactor(["postgresql://postgres:hunter22x@127.0.0.1:5432/postgres"])
    assert redactor.text("postgres on 127.0.0.1:5432/postgres") == (
        "postgres on 127.0.0.1:5432/postgres")
    assert redactor.text("auth hunter22x") == f"auth {MASK}"


def test_a_password_with_a_slash_is_masked_in_pieces_and_in_the_url():
    url = "redis://:s3cr/etpass@127.0.0.1:6379/0"
    assert {"s3cr", "etpass", "s3cr/etpass"} <= secret_parts(url)
    redactor = Redactor([url])
    assert redactor.text("Port could not be cast to integer value as 's3cr'") == (
        f"Port could not be cast to integer value as '{MASK}'")
    # and without knowing it is a secret, as a URL password
    assert Redactor().text(f"connecting to {url}") == (
        f"connecting to redis://:{MASK}@127.0.0.1:6379/0")


@pytest.mark.parametrize(("url", "problem"), [
    ("redis://:s3cr/etpass@127.0.0.1:6379/0", "holds '/'"),
    ("postgresql://app:a?b#c@db/app", "holds '#', '?'"),
    ("redis://:p%2Fw@127.0.0.1:6379/0", None),
    ("redis://127.0.0.1:6379/0", None),
])
def test_userinfo_a_url_parser_would_misread(url, problem):
    said = userinfo_problem(url)
    assert (said is None) if problem is None else (problem in said and "s3cr" not in said
                                                   and "etpass" not in said)
