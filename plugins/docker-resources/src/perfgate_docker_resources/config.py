"""Options of the ``docker-resources`` collector, and which containers they select."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from pydantic import Field, field_validator, model_validator

from perfgate import SamplingConfig

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"


class DockerResourcesConfig(SamplingConfig):
    """Options of the ``docker-resources`` collector.

    A container is followed when it matches any of ``containers`` (names, ``*`` globs), when it
    carries every label of ``labels``, or when it belongs to the compose ``project`` (and to
    one of ``services``, if given). With none of them, every container of the engine is.
    """

    #: The engine (``unix:///var/run/docker.sock``, ``tcp://127.0.0.1:2375``); default
    #: ``DOCKER_HOST``, else the local socket.
    host: str | None = None
    containers: list[str] = Field(default_factory=list)
    #: ``{key: value}``; a value of ``""`` matches any value of the key.
    labels: dict[str, str] = Field(default_factory=dict)
    project: str | None = None
    services: list[str] = Field(default_factory=list)
    #: Propose the checks ``oom-kills`` and ``restarts`` (``count == 0``).
    builtin_targets: bool = True

    @field_validator("containers", "services")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if any(not name.strip() for name in value):
            raise ValueError("names must not be empty")
        return [name.lstrip("/") for name in value]

    @model_validator(mode="after")
    def _services_need_a_project(self) -> DockerResourcesConfig:
        if self.services and not self.project:
            raise ValueError("services: needs project: (the compose project they belong to)")
        return self

    def selects(self, name: str, labels: Mapping[str, str]) -> bool:
        """True if a container with this name and these labels is to be followed."""
        if not (self.containers or self.labels or self.project):
            return True
        name = name.lstrip("/")
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.containers):
            return True
        if self.labels and all(key in labels and value in ("", labels[key])
                               for key, value in self.labels.items()):
            return True
        return bool(self.project and labels.get(PROJECT_LABEL) == self.project
                    and (not self.services or labels.get(SERVICE_LABEL) in self.services))

    def describe(self) -> str:
        """The selection as messages name it."""
        parts = [*self.containers]
        parts += [f"label {k}={v}" if v else f"label {k}" for k, v in self.labels.items()]
        if self.project:
            parts.append(f"compose project {self.project}"
                         + (f" ({', '.join(self.services)})" if self.services else ""))
        return ", ".join(parts) or "every container"
