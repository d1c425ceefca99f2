"""Property-based fuzzing of every Python entry point (hypothesis, fixed budget, derandomised so
CI is reproducible): random configs, counts, actions, policy lists, policy files and decision
records. Each call must succeed or raise one of the documented exceptions; a PanicException
(a Rust panic crossing into Python), any other exception or a crash fails the test."""

import json
import math
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planetgym
from planetgym.shadow import ShadowPolicy, sample_records

from conftest import SMALL

POLICIES = Path(__file__).resolve().parents[2] / "experiments" / "policies"
CLEAN = (ValueError, TypeError, OSError, OverflowError, RuntimeError, KeyError)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**62, 2**63 - 1, 1e308, -1e308, float("nan")]),
)
values = st.one_of(numbers, st.booleans(), st.text(max_size=12), st.lists(numbers, max_size=4))


def _fields(scenario):
    """Dotted paths of the scenario's config fields, from its resolved default."""
    table = tomllib.loads(planetgym.resolve_config(scenario))

    def walk(t, prefix=""):
        for key, value in t.items():
            if isinstance(value, dict):
                yield from walk(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    return sorted(walk(table))


def _nested(path, value):
    out = value
    for key in reversed(path.split(".")):
        out = {key: out}
    return out


def _clean(call):
    """Runs `call`; a clean refusal is fine, anything else propagates and fails the test."""
    try:
        return call()
    except CLEAN:
        return None


@pytest.mark.parametrize("name", sorted(SMALL))
def test_random_config_fields_build_or_raise_cleanly(name):
    fields = _fields(name)

    @FUZZ
    @given(st.sampled_from(fields), values)
    def check(field, value):
        config = planetgym._config._merge(SMALL[name], _nested(field, value))
        env = _clean(lambda: planetgym.PlanetgymEnv(name, config))
        if env is not None:
            env.reset(seed=0)
            env.step(env.action_space.sample())

    check()


@FUZZ
@given(st.one_of(numbers, st.booleans(), st.none()), st.one_of(numbers, st.booleans()))
def test_random_vector_env_sizes_build_or_raise_cleanly(num_envs, threads):
    env = _clean(lambda: planetgym.make_vec("capacity", num_envs, threads=threads, config=SMALL["capacity"]))
    if env is not None:
        env.reset(seed=0)
        env.step(env.action_space.sample())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_random_actions_step_or_raise_cleanly(name):
    env = planetgym.PlanetgymEnv(name, SMALL[name], illegal_actions="raise")
    env.reset(seed=0)
    shape = env.action_space.shape or ()

    @FUZZ
    @given(
        st.one_of(
            st.lists(numbers, max_size=40).map(lambda v: np.array(v, dtype=object)),
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=max(1, math.prod(shape)), max_size=max(1, math.prod(shape))).map(
                lambda v: np.array(v).reshape(shape) if shape else v[0]
            ),
            numbers,
            st.text(max_size=5),
        )
    )
    def check(action):
        result = _clean(lambda: env.step(action))
        if result is not None and (result[2] or result[3]):
            env.reset(seed=0)

    check()


@FUZZ
@given(
    st.one_of(
        st.none(),
        st.text(max_size=6),
        st.lists(st.sampled_from(["f1", "sjf", "fcfs", "nope", "", "f1"]), max_size=4),
    ),
    st.one_of(st.integers(min_value=-3, max_value=3), st.booleans(), st.floats(allow_nan=True)),
)
def test_random_policy_lists_evaluate_or_raise_cleanly(policies, episodes):
    table = _clean(lambda: planetgym.evaluate(policies, "batch", episodes=episodes, config=SMALL["batch"]))
    if table is not None:
        assert len(table) > 0


@FUZZ
@given(st.sampled_from(["hidden", "weights", "obs_stats", "format", "action_space", "scenario"]), values)
def test_random_policy_files_load_or_raise_cleanly(tmp_path_factory, field, value):
    directory = tmp_path_factory.mktemp("policy")
    shutil.copy(POLICIES / "placement" / "policy.json", directory / "policy.json")
    file = json.loads((directory / "policy.json").read_text())
    file[field] = value
    (directory / "policy.json").write_text(json.dumps(file))
    _clean(lambda: planetgym.load_policy(directory))


@pytest.fixture(scope="module")
def capacity_shadow(tmp_path_factory):
    """The committed capacity policy, exported, and one record logged in its scenario."""
    out = tmp_path_factory.mktemp("export")
    planetgym.export(POLICIES / "capacity", out)
    config = tomllib.loads(json.loads((POLICIES / "capacity" / "policy.json").read_text())["scenario_config"])
    record = sample_records("capacity", "reactive@0.8", 1, config=config)[0]
    return ShadowPolicy(out, runtime="planetgym"), record


@FUZZ
@given(st.sampled_from(["timestamp", "id", "observation", "incumbent", "action_mask", "outcome", "extra"]), values)
def test_random_decision_records_decide_or_raise_cleanly(capacity_shadow, field, value):
    policy, record = capacity_shadow
    record = dict(record, **{field: value})
    _clean(lambda: policy.act(record))


@pytest.mark.parametrize("name", sorted(SMALL))
def test_random_configs_resolve_and_list_baselines_or_raise_cleanly(name):
    fields = _fields(name)

    @FUZZ
    @given(st.lists(st.tuples(st.sampled_from(fields), values), min_size=1, max_size=3))
    def check(changes):
        config = dict(SMALL[name])
        for field, value in changes:
            config = planetgym._config._merge(config, _nested(field, value))
        # A config that validates can still fail to build (a history longer than its series).
        if _clean(lambda: planetgym.resolve_config(name, config)) is not None:
            _clean(lambda: planetgym.baselines(name, config))

    check()


@FUZZ
@given(st.one_of(st.sampled_from(sorted(SMALL)), st.text(max_size=20)), st.sampled_from(["interval_s", "visible_jobs", "sites", "mode"]), values)
def test_random_record_schemas_or_raise_cleanly(target, field, value):
    _clean(lambda: planetgym.shadow.record_schema(target, None, **{field: value}))
