"""compose: on a service: checked with the file, and a clear word when no compose is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfgate import ConfigError, ServiceError
from perfgate.compose import find_compose
from perfgate.testing import run_targets


def targets(compose: str, extra: str = "") -> str:
    return f"""\
version: 1
services:
  web:
    url: http://127.0.0.1:8080
    compose: {compose}
{extra}
"""


def test_a_missing_compose_file_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.yml"
    path.write_text(targets("{file: stacks/missing.yml}"))
    with pytest.raises(ConfigError) as info:
        run_targets(path)
    message = str(info.value)
    assert "targets.yml:5:" in message
    assert "services.web.compose.file" in message
    assert "compose file 'stacks/missing.yml' not found" in message


def test_one_of_several_files_missing_names_its_index(tmp_path: Path) -> None:
    (tmp_path / "base.yml").write_text("services: {}\n")
    path = tmp_path / "targets.yml"
    path.write_text(targets("{file: [base.yml, override.yml]}"))
    with pytest.raises(ConfigError, match=r"services\.web\.compose\.file\[1\]: compose file "
                                          r"'override\.yml' not found"):
        run_targets(path)


def test_start_and_compose_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text("services: {}\n")
    path = tmp_path / "targets.yml"
    path.write_text(targets("{file: stack.yml}", "    start: python -m http.server 8080"))
    with pytest.raises(ConfigError, match="a service has start: or compose:, not both"):
        run_targets(path)


def test_a_bad_project_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text("services: {}\n")
    path = tmp_path / "targets.yml"
    path.write_text(targets("{file: stack.yml, project: My Stack}"))
    with pytest.raises(ConfigError, match=r"services\.web\.compose\.project: .*lowercase"):
        run_targets(path)


def test_no_compose_installed_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ServiceError) as info:
        find_compose({"PATH": str(tmp_path)})
    message = str(info.value)
    assert "neither 'docker compose' nor 'docker-compose'" in message
    assert "docker-compose-plugin" in message and "docker-compose package" in message


def test_no_compose_installed_is_a_broken_run_that_reports(tmp_path: Path,
                                                           monkeypatch) -> None:
    (tmp_path / "stack.yml").write_text("services: {web: {image: busybox}}\n")
    path = tmp_path / "targets.yml"
    path.write_text(targets("{file: stack.yml}", "reporters: {json: {path: result.json}}"))
    monkeypatch.setenv("PATH", str(tmp_path))
    outcome = run_targets(path, output_dir=tmp_path / "out")
    assert outcome.exit_code == 3
    [error] = outcome.result.errors
    assert "service 'web': no compose command" in error["message"]
    assert (tmp_path / "out" / "result.json").exists()
