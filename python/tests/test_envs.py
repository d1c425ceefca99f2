import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import planetgym
from conftest import SMALL


def make(scenario, **kwargs):
    return gymnasium.make(planetgym.ENV_IDS[scenario], config=SMALL[scenario], **kwargs)


def test_every_registered_scenario_has_a_gym_id_and_builds():
    """The gym ids come from the Rust registry: every registered scenario is registered with
    gymnasium (vector entry point too) and builds from its default config."""
    names = planetgym.scenario_names()
    assert sorted(names) == sorted(SMALL), "every scenario needs a small test config"
    assert sorted(planetgym.ENV_IDS) == sorted(names)
    for name in names:
        env_id = planetgym.ENV_IDS[name]
        assert env_id in gymnasium.registry, env_id
        env = gymnasium.make(env_id)
        assert env.unwrapped.scenario == name
        vec = gymnasium.make_vec(env_id, 2, vectorization_mode="vector_entry_point", config=SMALL[name])
        assert vec.num_envs == 2
        vec.close()


def test_every_scenario_passes_gymnasiums_checker(scenario):
    env = make(scenario)
    assert isinstance(env.unwrapped, gymnasium.Env)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(env, skip_render_check=True)


def test_every_scenario_passes_stable_baselines3s_checker(scenario):
    sb3_check_env(planetgym.PlanetgymEnv(scenario, SMALL[scenario]), warn=True)


def test_default_configs_build_every_scenario(scenario):
    env = gymnasium.make(planetgym.ENV_IDS[scenario])
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    assert len(env.unwrapped.feature_names) == obs.shape[0]


def test_steps_return_python_types_fresh_arrays_and_metrics(scenario):
    env = make(scenario)
    obs, info = env.reset(seed=3)
    env.action_space.seed(0)
    seen = [obs, obs.copy()]
    for _ in range(5):
        mask = env.unwrapped.action_masks()
        action = env.action_space.sample(mask=_sample_mask(env, mask))
        obs, reward, terminated, truncated, info = env.step(action)
        assert type(reward) is float and type(terminated) is bool and type(truncated) is bool
        for name in env.unwrapped.metric_names:
            assert type(info[name]) is float, name
        assert not info["action_remapped"]
        if mask is not None:
            np.testing.assert_array_equal(info["action_mask"], env.unwrapped.action_masks())
        assert obs is not seen[-2]
        np.testing.assert_array_equal(seen[0], seen[1])  # the first array was not overwritten
        if terminated or truncated:
            break


def _sample_mask(env, mask):
    space = env.action_space
    if mask is None:
        return None
    if isinstance(space, gymnasium.spaces.Discrete):
        return mask.astype(np.int8)
    bounds = np.cumsum([0, *space.nvec])
    return tuple(mask[a:b].astype(np.int8) for a, b in zip(bounds[:-1], bounds[1:]))


def rollout(env, seed, steps):
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        out += [obs, reward]
        if terminated or truncated:
            break
    return out


def test_same_seed_same_episode_other_seed_other_episode():
    env = make("traffic")
    a, b, c = rollout(env, 7, 10), rollout(env, 7, 10), rollout(env, 8, 10)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_configs_as_dict_toml_path_and_keywords(tmp_path):
    path = tmp_path / "traffic.toml"
    path.write_text("episode_intervals = 12\n[world]\nkind = \"synthetic\"\n[world.synthetic]\nregions = 4\nsites = 2\n")
    from_path = gymnasium.make("planetgym/Traffic-v0", config=str(path))
    assert from_path.action_space.shape == (4, 2)
    overridden = gymnasium.make("planetgym/Traffic-v0", config=path, episode_intervals=3)
    overridden.reset(seed=0)
    steps = 0
    while True:
        steps += 1
        *_, terminated, truncated, _ = overridden.step(overridden.action_space.sample())
        if terminated or truncated:
            break
    assert steps == 3
    kwargs = gymnasium.make("planetgym/Traffic-v0", world={"kind": "synthetic", "synthetic": {"regions": 5, "sites": 2}})
    assert kwargs.action_space.shape == (5, 2)
    assert "regions = 5" in kwargs.unwrapped.description["resolved_config"]


def test_bad_configs_name_the_field():
    with pytest.raises(ValueError, match="unknown field `demand.sigma`"):
        gymnasium.make("planetgym/Traffic-v0", demand={"sigma": 1.0})
    with pytest.raises(ValueError, match=r"demand.noise_sigma = -1: must be in \[0, 2\]"):
        planetgym.PlanetgymEnv("traffic", {"demand": {"noise_sigma": -1.0}})
    with pytest.raises(ValueError, match="unknown scenario `nope`"):
        planetgym.PlanetgymEnv("nope")
    with pytest.raises(OSError, match="cannot read config"):
        planetgym.PlanetgymEnv("traffic", "/no/such/file.toml")
    with pytest.raises(ValueError, match="render_mode"):
        planetgym.PlanetgymEnv("traffic", render_mode="human")


@pytest.mark.parametrize(
    ("scenario", "action", "message"),
    [
        ("batch", 2.0, "dtype float64, expected an integer"),
        ("batch", [1, 2], r"shape \(2,\), expected \(\)"),
        ("batch", 16, "out of range: allowed 0 to 15 \\(inclusive\\)"),
        ("batch", -1, "must be a non-negative whole number"),
        ("batch", "x", "expected an integer"),
        ("capacity", [1, 2], r"shape \(2,\), expected \(3,\)"),
        ("capacity", [0, 0, 9], "out of range: allowed 0 to 8 \\(inclusive\\)"),
        ("traffic", np.full((6, 3), np.nan), r"action\[0, 0\] = NaN"),
        ("traffic", -np.ones((6, 3)), "split weights must be in \\[0, 1\\]"),
        ("traffic", np.ones((3, 6)), r"shape \(3, 6\), expected \(6, 3\)"),
        ("traffic", [[object()] * 3] * 6, "dtype object"),
    ],
)
def test_bad_actions_raise_value_error_and_change_nothing(scenario, action, message):
    env = planetgym.PlanetgymEnv(scenario, SMALL[scenario])
    reference = planetgym.PlanetgymEnv(scenario, SMALL[scenario])
    env.reset(seed=1)
    reference.reset(seed=1)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    good = _first_legal_action(env)
    a, b = env.step(good), reference.step(good)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def _first_legal_action(env):
    mask = env.action_masks()
    space = env.action_space
    if isinstance(space, gymnasium.spaces.Discrete):
        return int(np.flatnonzero(mask)[0])
    if isinstance(space, gymnasium.spaces.MultiDiscrete):
        bounds = np.cumsum([0, *space.nvec])
        return np.array([np.flatnonzero(mask[a:b])[0] for a, b in zip(bounds[:-1], bounds[1:])])
    return np.full(space.shape, 1.0, dtype=np.float32)


def test_masked_actions_are_remapped_or_refused():
    env = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    _, info = env.reset(seed=0)
    mask = info["action_mask"]
    illegal = int(np.flatnonzero(~mask)[0])
    expected = next(i % 16 for i in range(illegal, illegal + 16) if mask[i % 16])
    strict = planetgym.PlanetgymEnv("batch", SMALL["batch"], illegal_actions="raise")
    strict.reset(seed=0)
    with pytest.raises(ValueError, match=f"action {illegal} is masked out"):
        strict.step(illegal)
    remapped = env.step(illegal)
    assert remapped[4]["action_remapped"]
    np.testing.assert_array_equal(remapped[0], strict.step(expected)[0])
    with pytest.raises(ValueError, match="illegal_actions"):
        planetgym.PlanetgymEnv("batch", illegal_actions="ignore")


def test_traffic_weights_are_normalised_per_row():
    env = planetgym.PlanetgymEnv("traffic", SMALL["traffic"])
    reference = planetgym.PlanetgymEnv("traffic", SMALL["traffic"])
    env.reset(seed=2)
    reference.reset(seed=2)
    weights = np.zeros((6, 3), dtype=np.float32)
    weights[:, 0] = 0.5
    weights[0] = 0.0  # an all-zero row splits evenly
    split = np.zeros((6, 3))
    split[:, 0] = 1.0
    split[0] = 1.0 / 3.0
    a, b = env.step(weights), reference.step(split)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_protocol_errors():
    env = planetgym.PlanetgymEnv("traffic", SMALL["traffic"], episode_intervals=1)
    with pytest.raises(RuntimeError, match="before reset"):
        env.step(np.ones((6, 3)))
    env.reset(seed=0)
    *_, terminated, truncated, _ = env.step(np.ones((6, 3)))
    assert terminated or truncated
    with pytest.raises(RuntimeError, match="episode ended"):
        env.step(np.ones((6, 3)))
    with pytest.raises(ValueError, match="no reset options"):
        env.reset(seed=0, options={"x": 1})
    with pytest.raises(gymnasium.error.ResetNeeded):
        gymnasium.make("planetgym/Traffic-v0").step(np.ones((54, 12)))


def test_entity_rows_say_whose_they_are():
    batch = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    obs, info = batch.reset(seed=2)
    labels = info["entities"]
    visible = int(info["action_mask"].sum())
    assert len(labels) == 16 and all(label.startswith("job ") for label in labels[:visible])
    assert labels[visible:] == [""] * (16 - visible)
    # The job's number in the log: distinct, and the row's features describe it.
    assert len(set(labels[:visible])) == visible
    placement = planetgym.PlanetgymEnv("placement", SMALL["placement"])
    _, info = placement.reset(seed=0)
    assert info["entities"][:2] == placement.entity_labels()[:2] and info["entities"][0] != ""
    assert len(info["entities"]) == placement.description["layout"]["entities"]
    traffic = planetgym.PlanetgymEnv("traffic", dict(SMALL["traffic"], observation="pairs"))
    _, info = traffic.reset(seed=0)
    assert len(info["entities"]) == 6 * 3 and " -> site 0 (" in info["entities"][0]
    assert "entities" not in planetgym.PlanetgymEnv("capacity", SMALL["capacity"]).reset(seed=0)[1]


def test_observations_decode_by_name_in_single_and_vector_envs():
    batch = planetgym.PlanetgymEnv("batch", SMALL["batch"])
    obs, info = batch.reset(seed=2)
    decoded = batch.decode()
    rows = decoded["entities"]
    assert list(rows.index) == info["entities"] and "present" in rows.columns
    names = batch.feature_names
    first = info["entities"][0]
    for column in rows.columns:
        assert rows.loc[first, column] == obs[names.index(f"e0.{column}")], column
    assert decoded["global"] == {n: float(obs[names.index(n)]) for n in decoded["global"]}
    capacity = planetgym.PlanetgymEnv("capacity", SMALL["capacity"])
    obs, _ = capacity.reset(seed=0)
    assert list(capacity.decode()["features"].values()) == [float(v) for v in obs]
    vec = planetgym.make_vec("placement", 2, config=SMALL["placement"])
    obs, _ = vec.reset(seed=0)
    labels = vec.entity_labels(1)
    assert len(labels) == vec.description["layout"]["entities"] and labels[0] != ""
    assert list(vec.decode(1)["entities"].index) == labels
    with pytest.raises(ValueError, match="copy 2"):
        vec.entity_labels(2)


def test_rgb_array_renders_the_current_state(scenario):
    """``render_mode="rgb_array"``: ``render()`` draws the state (Gantt chart, cluster
    heat-map, traffic map, capacity against demand) as an RGB image that is not blank, and
    passes gymnasium's render checks."""
    env = make(scenario, render_mode="rgb_array")
    check_env(env.unwrapped)
    with pytest.raises(RuntimeError, match="reset"):
        make(scenario, render_mode="rgb_array").unwrapped.render()
    env.reset(seed=1)
    frames = [env.render()]
    env.action_space.seed(0)
    for _ in range(10):
        mask = env.unwrapped.action_masks()
        _, _, terminated, truncated, _ = env.step(env.action_space.sample(mask=_sample_mask(env, mask)))
        if terminated or truncated:
            break
    frames.append(env.render())
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
        assert 300 <= frame.shape[0] < 3000 and 600 <= frame.shape[1] < 4000, frame.shape
        drawn = (frame != 255).any(axis=2).mean()
        assert drawn > 0.01, f"{drawn:.3%} of the pixels drawn"
    assert frames[0].shape != frames[1].shape or (frames[0] != frames[1]).any(), "the picture follows the state"


def test_render_modes():
    env = make("capacity")
    env.reset(seed=0)
    assert env.render() is None
    assert "rgb_array" in env.unwrapped.metadata["render_modes"]
    # (gymnasium.make turns "human" into its own HumanRendering wrapper over rgb_array.)
    with pytest.raises(ValueError, match="render_mode='ansi'"):
        planetgym.PlanetgymEnv("capacity", render_mode="ansi")
