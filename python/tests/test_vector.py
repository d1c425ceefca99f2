import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, VectorEnv

import planetgym
from conftest import SMALL


def test_make_vec_is_a_next_step_vector_env(scenario):
    env = planetgym.make_vec(scenario, 3, config=SMALL[scenario])
    assert isinstance(env, VectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, infos = env.reset(seed=0)
    assert obs.shape == (3, *env.single_observation_space.shape) and obs.dtype == np.float32
    assert obs in env.observation_space
    env.action_space.seed(0)
    masks = env.action_masks()
    actions = np.stack([_legal(env, masks, i) for i in range(3)]) if masks is not None else env.action_space.sample()
    obs2, rewards, terminated, truncated, infos = env.step(actions)
    assert rewards.shape == (3,) and terminated.dtype == bool and truncated.dtype == bool
    for name in env.metric_names:
        assert infos[name].shape == (3,) and infos[f"_{name}"].all()
    assert not infos["action_remapped"].any()
    obs2[:] = 0  # arrays belong to the caller: the env keeps no view of them
    obs3, *_ = env.step(actions if masks is None else np.stack([_legal(env, env.action_masks(), i) for i in range(3)]))
    assert np.abs(obs3).sum() > 0


def _legal(env, masks, i):
    space = env.single_action_space
    if isinstance(space, gymnasium.spaces.Discrete):
        return np.flatnonzero(masks[i])[0]
    bounds = np.cumsum([0, *space.nvec])
    return np.array([np.flatnonzero(masks[i][a:b])[0] for a, b in zip(bounds[:-1], bounds[1:])])


def test_copies_follow_next_step_autoreset_and_match_single_envs():
    config = dict(SMALL["traffic"], episode_intervals=3)
    env = planetgym.make_vec("planetgym/Traffic-v0", 2, config=config)
    obs, _ = env.reset(seed=5)
    actions = np.full((2, 6, 3), 0.5, dtype=np.float32)
    rewards, dones = [], []
    for _ in range(4):
        obs, r, terminated, truncated, infos = env.step(actions)
        rewards.append(r)
        dones.append(terminated | truncated)
    assert [d.tolist() for d in dones] == [[False, False], [False, False], [True, True], [False, False]]
    np.testing.assert_array_equal(rewards[3], [0.0, 0.0])  # the reset step
    assert "mean_latency_ms" not in infos and "slo_violation_fraction" not in infos  # no copy reported metrics on its reset step
    # A copy's episodes are those of a vector env of one with the same seed: the same episode
    # whatever the other copies do.
    single = planetgym.make_vec("traffic", 1, config=config)
    single.reset(seed=5)
    first = [single.step(actions[:1])[1][0] for _ in range(3)]
    np.testing.assert_array_equal(first, [r[0] for r in rewards[:3]])


def test_results_do_not_depend_on_threads():
    runs = []
    for threads in (1, 2):
        env = planetgym.make_vec("traffic", 4, config=SMALL["traffic"], threads=threads)
        obs, _ = env.reset(seed=11)
        rng = np.random.default_rng(0)
        out = [obs]
        for _ in range(12):
            out.extend(env.step(rng.random((4, 6, 3), dtype=np.float32))[:2])
        runs.append(out)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_gymnasium_make_vec_uses_the_rust_vector_env():
    env = gymnasium.make_vec("planetgym/Batch-v0", num_envs=4, vectorization_mode="vector_entry_point", config=SMALL["batch"])
    assert isinstance(env, planetgym.PlanetgymVectorEnv) and env.num_envs == 4
    obs, infos = env.reset(seed=1)
    assert infos["action_mask"].shape == (4, 16)


def test_bad_batches_raise_value_error():
    env = planetgym.make_vec("traffic", 2, config=SMALL["traffic"])
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(6, 3\), expected \(2, 6, 3\)"):
        env.step(np.ones((6, 3)))
    bad = np.ones((2, 6, 3))
    bad[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match=r"actions\[1\]: action\[2, 0\] = inf"):
        env.step(bad)
    with pytest.raises(ValueError, match="seed must be one int"):
        env.reset(seed=[1, 2])
    with pytest.raises(ValueError, match=r"num_envs \(vector env copies\) = 0: must be at least 1"):
        planetgym.make_vec("traffic", 0)
    batch = planetgym.make_vec("batch", 2, config=SMALL["batch"], illegal_actions="raise")
    _, infos = batch.reset(seed=0)
    illegal = np.flatnonzero(~infos["action_mask"][1])[0]
    with pytest.raises(ValueError, match=f"env copy 1: action {illegal} is masked out"):
        batch.step(np.array([np.flatnonzero(infos["action_mask"][0])[0], illegal]))


@pytest.mark.parametrize("scenario", ["batch", "placement"])
def test_masks_always_offer_an_action_across_next_step_resets(scenario):
    # A copy whose episode just ended has a terminal state (batch: empty queue) whose own mask
    # may be all false; its next action is ignored, so the env publishes an all-true row.
    env = planetgym.make_vec(scenario, 2, config=SMALL[scenario])
    _, infos = env.reset(seed=3)
    ended = 0
    for _ in range(400):
        masks = infos["action_mask"]
        assert masks.any(axis=1).all()
        _, _, terminated, truncated, infos = env.step(np.stack([_legal(env, masks, i) for i in range(2)]))
        done = terminated | truncated
        ended += int(done.sum())
        if done.any():
            np.testing.assert_array_equal(infos["action_mask"][done], True)
        if ended >= 2:
            break
    assert ended >= 2
