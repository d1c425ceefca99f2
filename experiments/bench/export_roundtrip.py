"""Largest difference between burn and onnxruntime, per policy type, on 2,000 recorded
observations: what python/tests/test_shadow.py asserts (at most 1e-5), printed as a table.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/export_roundtrip.py
"""

import sys
import tempfile
from pathlib import Path

import onnxruntime

import planetgym

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "tests"))
from test_shadow import CASES, graph_inputs, record_observations, worst  # noqa: E402


def main():
    print("| policy | layout | action space | observations | logits | value |")
    print("|---|---|---|---|---|---|")
    for name, (scenario, env) in sorted(CASES.items()):
        root = Path(tempfile.mkdtemp())
        config = {
            "scenario": scenario, "seed": 3, "total_steps": 2 * 2 * 32, "num_envs": 2, "hidden": 16, "env": env,
            "ppo": {"rollout_steps": 32, "epochs": 1, "minibatches": 1, "normalise_obs": True},
            "eval": {"episodes": 0},
        }
        run = planetgym.train(config, run_dir=root / "run").run_dir
        manifest = planetgym.export(run, root / "export")
        obs = record_observations(scenario, env, 2000)
        params, values = planetgym.load_policy(run).forward(obs)
        session = onnxruntime.InferenceSession(root / "export" / "policy.onnx", providers=["CPUExecutionProvider"])
        got_params, got_values = session.run(None, graph_inputs(manifest, obs))
        layout, space = manifest["feature_spec"]["layout"]["kind"], manifest["action_space"]["kind"]
        print(f"| {name} | {layout} | {space} | {len(obs)} | {worst(params, got_params):.1e} | {worst(values, got_values):.1e} |")


if __name__ == "__main__":
    main()
