"""The trainer's TensorBoard event files, read back by TensorBoard's own reader.

Trains a few PPO updates with the `planetgym` command line built by `cargo test --release`
(scripts/test.sh builds it before pytest runs).
"""

import csv
import json
import math
import re
import pathlib
import subprocess

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

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


def train(tmp_path, config_text):
    """Trains `config_text` with the CLI; (run directory, its TensorBoard events read back)."""
    assert BINARY.exists(), f"build the CLI first (cargo build --release): {BINARY}"
    config = tmp_path / "train.toml"
    config.write_text(config_text)
    run = tmp_path / "run"
    subprocess.run(
        [str(BINARY), "train", "--config", str(config), "--run-dir", str(run)],
        check=True,
        capture_output=True,
    )
    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return run, acc


def test_tensorboard_reads_every_logged_scalar(tmp_path):
    run, acc = train(tmp_path, CONFIG)
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


def test_updates_without_finished_episodes_log_no_nan(tmp_path):
    # Episodes of 168 periods outlast the first update's 128 steps per copy: that update has
    # no episode return, which is left out of TensorBoard and empty in metrics.csv.
    run, acc = train(tmp_path, CONFIG.replace("episode_periods = 24", "episode_periods = 168"))
    for tag in acc.Tags()["scalars"]:
        assert all(math.isfinite(e.value) for e in acc.Scalars(tag)), tag
    assert [e.step for e in acc.Scalars("charts/episode_return")] == [512, 768]
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert rows[0]["charts/episode_return"] == "" and rows[0]["charts/episodes"] == "0"
    assert all("nan" not in v.lower() for row in rows for v in row.values())
    assert math.isfinite(float(rows[1]["charts/episode_return"]))


def test_run_directories_record_provenance_hyper_parameters_and_the_best_policy(tmp_path):
    run, acc = train(tmp_path, CONFIG.replace("episodes = 0", "episodes = 0\nevery = 2\nduring_episodes = 2"))
    (session,) = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines()]
    assert session["command"][1:3] == ["train", "--config"] and session["resumed"] is False
    assert re.fullmatch("[0-9a-f]{40}", session["git_commit"]) and isinstance(session["git_dirty"], bool)
    assert "episode_periods = 24" in (run / "scenario.toml").read_text()

    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["scenario"].string_value == "capacity"
    assert hparams["ppo.rollout_steps"].number_value == 128
    assert hparams["env.episode_periods"].number_value == 24
    assert hparams["ppo.normalise_obs"].bool_value is True

    # Evaluated after updates 2 and 3 (the last); the best of them is kept in best/.
    assert [e.step for e in acc.Scalars("eval/mean_return")] == [512, 768]
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    scores = {int(r["update"]): float(r["eval/mean_return"]) for r in rows if r["eval/mean_return"]}
    assert sorted(scores) == [2, 3]
    best = json.loads((run / "best" / "best.json").read_text())
    assert best["update"] == max(sorted(scores), key=lambda u: (scores[u], -u))
    assert best["mean_return"] == scores[best["update"]] and "ties keep the earlier" in best["rule"]
    assert (run / "best" / "policy.json").exists()
