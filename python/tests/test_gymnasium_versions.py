"""The environment runs gymnasium 1.2.2 (Ray RLlib pins it, and the ray extra is installed); the
package must work with the newest gymnasium it allows as well."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import gymnasium, numpy as np, planetgym
    from gymnasium.utils.env_checker import check_env
    assert gymnasium.__version__.startswith("1.4."), gymnasium.__version__
    for scenario in ("traffic", "batch"):
        config = {"traffic": {"episode_intervals": 5}, "batch": {"window_jobs": 32, "visible_jobs": 8}}[scenario]
        check_env(gymnasium.make(planetgym.ENV_IDS[scenario], **config).unwrapped, skip_render_check=True)
        env = gymnasium.make_vec(planetgym.ENV_IDS[scenario], num_envs=3, vectorization_mode="vector_entry_point", **config)
        obs, infos = env.reset(seed=0)
        masks = infos.get("action_mask")
        actions = masks.argmax(axis=1) if masks is not None else env.action_space.sample()
        env.step(actions)
    print("ok")
    """
)


def test_works_with_the_newest_gymnasium(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp_path), "gymnasium>=1.4,<1.5"],
        check=True,
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
