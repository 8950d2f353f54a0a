"""Components are generic over their options; the shared helpers plugins use."""

from __future__ import annotations

import json

import pytest

from perfgate import (
    BaselineError,
    Collector,
    ComponentConfig,
    DriverScenario,
    LoadDriver,
    MetricSet,
    Reporter,
    ResultDocument,
    SamplingCollector,
    SamplingConfig,
    counter_delta,
)
from perfgate.testing import run_context


class Options(ComponentConfig):
    level: int = 3


class Scenario(DriverScenario):
    rounds: int = 2


def test_the_type_argument_is_the_options_model():
    class Thermo(Collector[Options]):
        name = "thermo"

    class Sampler(SamplingCollector[SamplingConfig]):
        name = "sampler"

    class Rounds(LoadDriver[Scenario]):
        name = "rounds"

        def run(self) -> MetricSet:
            metrics = MetricSet()
            metrics.counter("rounds").add(self.config.rounds)
            return metrics

    assert Thermo.Config is Options and Sampler.Config is SamplingConfig
    assert Rounds.Config is Scenario
    scenario = Scenario(driver="rounds", rounds=5)
    assert Rounds(scenario, run_context(), "load").run().combined("rounds").aggregate(
        "count") == 5


def test_defaults_without_a_type_argument():
    class Plain(Reporter):  # type: ignore[type-arg]
        name = "plain"

    class Driver(LoadDriver):  # type: ignore[type-arg]
        name = "driver"

    assert Plain.Config is ComponentConfig
    assert Driver.Config is DriverScenario


def test_a_subclass_inherits_its_bases_options_model():
    class Base(Collector[Options]):
        name = "base"

    class Child(Base):
        name = "child"

    assert Child.Config is Options


def test_naming_the_options_twice_differently_is_refused():
    class Other(ComponentConfig):
        pass

    with pytest.raises(TypeError, match="name the model once"):
        class Confused(Collector[Options]):
            name = "confused"
            Config = Other


@pytest.mark.parametrize(("before", "now", "restarted", "growth"), [
    (None, 7, False, 7),      # the first reading counts from zero
    (10, 15, False, 5),
    (10, 10, False, 0),
    (10, 3, False, 3),        # went down: the server reset its statistics
    (10, 25, True, 25),       # restarted and already past the old value
])
def test_counter_delta_survives_a_restart(before, now, restarted, growth):
    assert counter_delta(before, now, restarted=restarted) == growth


def test_the_baseline_is_read_once_per_run_and_command_line_wins(tmp_path):
    doc = ResultDocument(run={"id": "base"}).to_dict()
    (tmp_path / "cli.json").write_text(json.dumps(doc))
    (tmp_path / "option.json").write_text(json.dumps({**doc, "run": {"id": "option"}}))
    context = run_context(targets_path=tmp_path / "targets.yml")
    assert context.baseline() is None
    first = context.baseline("option.json")
    assert first is not None and first.result.run["id"] == "option"
    assert context.baseline("option.json") is first
    cli = run_context(targets_path=tmp_path / "targets.yml", baseline=tmp_path / "cli.json")
    assert cli.baseline("option.json").result.run["id"] == "base"


@pytest.mark.parametrize(("content", "reason"), [
    (None, "No such file"),
    ("{not json", "it is not JSON"),
    ('{"schema": "other/1"}', "it is not a perfgate result document"),
    ('{"schema": "perfgate-result/1", "metrics": [{"name": "x"}]}',
     "it is not a valid result document"),
])
def test_an_unusable_baseline_says_which_file_and_why(tmp_path, content, reason):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BaselineError) as info:
        run_context(baseline=path).baseline()
    assert str(info.value).startswith(f"cannot read the baseline {path}: ")
    assert reason in str(info.value)


def test_an_options_model_that_is_not_a_component_config_is_refused():
    from pydantic import BaseModel

    from perfgate import Collector

    class Loose(BaseModel):
        interval: float = 1.0

    with pytest.raises(TypeError, match=r"Loose is a pydantic model but not a "
                                        r"perfgate\.ComponentConfig"):
        class Sloppy(Collector[Loose]):  # type: ignore[type-var]
            name = "sloppy"
