"""The README documents every option; the Kubernetes workers are those the driver waits for."""

from __future__ import annotations

from pathlib import Path

import yaml

from perfgate import DriverScenario
from perfgate_locust import LocustScenario

PLUGIN = Path(__file__).resolve().parents[1]


def test_every_option_is_in_the_readme():
    readme = (PLUGIN / "README.md").read_text()
    own = set(LocustScenario.model_fields) - set(DriverScenario.model_fields) - {"executor"}
    missing = [name for name in sorted(own) if f"`{name}`" not in readme]
    assert not missing, missing


def test_the_kubernetes_workers_fetch_the_locustfile_from_the_master():
    manifest = yaml.safe_load((PLUGIN / "kubernetes" / "locust-workers.yaml").read_text())
    assert manifest["kind"] == "Deployment"
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[0] == "--worker"
    assert args[args.index("-f") + 1] == "-"  # the locustfile and perfgate's agent
    assert args[args.index("--master-port") + 1] == "5557"
    assert container["image"].startswith("locustio/locust:2.")
