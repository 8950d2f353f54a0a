"""Stats samples read as the docker CLI reads them, and which containers a config selects."""

from __future__ import annotations

import pytest

from perfgate import ConfigError
from perfgate.testing import run_targets
from perfgate_docker_resources import DockerResourcesConfig
from perfgate_docker_resources.stats import cpu_limit, parse_time, read_sample


def sample(**overrides):
    stats = {
        "read": "2026-12-01T16:43:35.500000000Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "online_cpus": 2,
                      "system_cpu_usage": 110_000_000_000},
        "precpu_stats": {"cpu_usage": {"total_usage": 2_500_000_000}, "online_cpus": 2,
                         "system_cpu_usage": 108_000_000_000},
        "memory_stats": {"usage": 100 * 2**20, "limit": 400 * 2**20,
                         "stats": {"total_inactive_file": 20 * 2**20}},
        "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 10},
                     "eth1": {"rx_bytes": 24, "tx_bytes": 5}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"op": "Read", "value": 4096}, {"op": "Write", "value": 512},
            {"op": "read", "value": 4096}, {"op": "Total", "value": 8704}]},
        "pids_stats": {"current": 7},
    }
    stats.update(overrides)
    return stats


def test_cpu_is_the_cli_formula() -> None:
    # 0.5 s of CPU over 2 s of all CPUs' time, times 2 CPUs: 50% (half a core).
    assert read_sample(sample()).cpu_percent == pytest.approx(50.0)


def test_the_first_sample_of_a_stream_has_no_cpu() -> None:
    assert read_sample(sample(precpu_stats={"cpu_usage": {"total_usage": 0}})).cpu_percent \
        is None


def test_no_cpu_used_is_zero_and_percpu_counts_cpus_without_online_cpus() -> None:
    idle = sample()
    idle["cpu_stats"]["cpu_usage"]["total_usage"] = 2_500_000_000
    assert read_sample(idle).cpu_percent == 0.0
    old = sample()
    del old["cpu_stats"]["online_cpus"]
    old["cpu_stats"]["cpu_usage"]["percpu_usage"] = [1, 2, 3, 4]
    assert read_sample(old).cpu_percent == pytest.approx(100.0)


def test_memory_leaves_out_inactive_page_cache_on_cgroup_v1_and_v2() -> None:
    v1 = read_sample(sample())
    assert v1.memory == 80 * 2**20
    assert v1.memory_percent == pytest.approx(20.0)
    v2 = read_sample(sample(memory_stats={"usage": 50 * 2**20, "limit": 100 * 2**20,
                                          "stats": {"inactive_file": 10 * 2**20}}))
    assert v2.memory == 40 * 2**20
    bare = read_sample(sample(memory_stats={}))
    assert bare.memory is None and bare.memory_percent is None


def test_network_block_io_and_pids() -> None:
    reading = read_sample(sample())
    assert (reading.net_rx, reading.net_tx) == (1024, 15)
    assert (reading.block_read, reading.block_write) == (8192, 512)
    assert reading.pids == 7
    host_network = read_sample(sample(networks=None))
    assert host_network.net_rx is None


def test_engine_times_keep_their_nanoseconds() -> None:
    assert parse_time("2026-12-01T16:43:35.123456789Z") - parse_time(
        "2026-12-01T16:43:34Z") == pytest.approx(1.123456789, abs=1e-6)


@pytest.mark.parametrize(("host_config", "cpus"), [
    ({"NanoCpus": 500_000_000}, 0.5),
    ({"CpuQuota": 150_000, "CpuPeriod": 100_000}, 1.5),
    ({"CpusetCpus": "0-2,5"}, 4.0),
    ({"NanoCpus": 0, "CpuQuota": 0, "CpusetCpus": ""}, None),
])
def test_cpu_limits(host_config, cpus) -> None:
    assert cpu_limit(host_config) == cpus


def test_selection_by_name_label_and_compose_service() -> None:
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": "api",
              "team": "payments"}
    assert DockerResourcesConfig().selects("anything", {})
    assert DockerResourcesConfig(containers=["api-*"]).selects("/api-1", {})
    assert not DockerResourcesConfig(containers=["api-*"]).selects("db", labels)
    assert DockerResourcesConfig(labels={"team": ""}).selects("x", labels)
    assert not DockerResourcesConfig(labels={"team": "search"}).selects("x", labels)
    assert DockerResourcesConfig(project="shop").selects("x", labels)
    assert DockerResourcesConfig(project="shop", services=["api"]).selects("x", labels)
    assert not DockerResourcesConfig(project="shop", services=["db"]).selects("x", labels)


def test_services_without_a_project_is_a_file_error(perfgate_plugin, monkeypatch) -> None:
    import perfgate_docker_resources

    monkeypatch.setenv("PERFGATE_NO_ENTRYPOINTS", "1")
    perfgate_plugin(perfgate_docker_resources)
    with pytest.raises(ConfigError, match="services: needs project"):
        run_targets("""
            version: 1
            collectors:
              docker-resources: {services: [api]}
            """)
