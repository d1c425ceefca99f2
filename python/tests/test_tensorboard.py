"""The trainer's TensorBoard event files, read back by TensorBoard's own reader.

Trains a few PPO updates with the `planetgym` command line built by `cargo test --release`
(scripts/test.sh builds it before pytest runs).
"""

import csv
import math
import pathlib
import subprocess

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "planetgym"

CONFIG = """
scenario = "capacity"
total_steps = 768
num_envs = 2
hidden = 8
[env]
episode_periods = 24
[ppo]
rollout_steps = 128
minibatches = 2
[eval]
episodes = 0
"""


def test_tensorboard_reads_every_logged_scalar(tmp_path):
    assert BINARY.exists(), f"build the CLI first (cargo build --release): {BINARY}"
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    run = tmp_path / "run"
    subprocess.run(
        [str(BINARY), "train", "--config", str(config), "--run-dir", str(run)],
        check=True,
        capture_output=True,
    )
    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    for tag in ["charts/episode_return", "charts/sps", "charts/learning_rate", "losses/policy",
                "losses/value", "losses/entropy", "losses/approx_kl", "metrics/cost",
                "metrics/unmet_fraction", "time/update_s"]:
        assert tag in tags, f"{tag} missing from {tags}"
    # Three updates of 256 steps, logged at their environment step counts, with the same values
    # as metrics.csv.
    lr = acc.Scalars("charts/learning_rate")
    assert [e.step for e in lr] == [256, 512, 768]
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert len(rows) == 3
    for event, row in zip(acc.Scalars("losses/value"), rows):
        assert math.isclose(event.value, float(row["losses/value"]), rel_tol=1e-6)
    # Annealed learning rate: 3e-4 at the start, decreasing.
    assert math.isclose(lr[0].value, 3e-4, rel_tol=1e-6) and lr[2].value < lr[1].value < lr[0].value
