"""perfgate collector ``docker-resources``: what containers use while the load runs.

::

    collectors:
      docker-resources:
        project: shop              # a compose project (and services: [...]), or
        containers: [api, "worker-*"]  # names and globs, or
        labels: {team: payments}   # labels; with none of these: every container
    targets:
      container-cpu: {metric: docker.cpu_of_limit, target: max < 80%, critical: max < 95%}
      oom: {metric: docker.oom_kills, critical: count == 0}
"""

from __future__ import annotations

from perfgate import Register, hookimpl
from perfgate_docker_resources.collector import DockerResourcesCollector
from perfgate_docker_resources.config import DockerResourcesConfig

__all__ = ["DockerResourcesCollector", "DockerResourcesConfig"]


@hookimpl
def perfgate_register_components(register: Register) -> None:
    """Make ``docker-resources`` available to targets files."""
    register(DockerResourcesCollector)
