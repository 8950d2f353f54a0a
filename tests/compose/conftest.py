"""Fixtures of the compose tests: ``runnable(file)`` brings a repository compose file here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from compose_stacks import RunnableStack, runnable_copy

from perfgate.compose import find_compose
from perfgate_docker_resources.testing import DockerEngine


@pytest.fixture
def runnable(docker_engine: DockerEngine, busybox_image: str,
             tmp_path: Path) -> Iterator[Callable[[Path], RunnableStack]]:
    """``runnable(file)``: a :class:`RunnableStack` for ``file``, taken down at the end."""
    stacks: list[RunnableStack] = []

    def make(file: Path) -> RunnableStack:
        project = f"pgtest{len(stacks)}{docker_engine.token.replace('-', '')}"
        model, ports = runnable_copy(file, busybox_image)
        path = tmp_path / f"{project}-{file.name}"
        path.write_text(yaml.safe_dump(model, sort_keys=False))
        env = {**docker_engine.env(), "POSTGRES_PASSWORD": "not-a-real-secret",
               "COMPOSE_PROJECT_NAME": project}
        stack = RunnableStack(file, path, project, ports, env, find_compose(env))
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.compose("down", "--volumes", "--remove-orphans", "-t", "5")
