"""Shadow-mode throughput and decision latency on the committed traffic and placement policies.

For each: export the policy, write simulated decision logs with a baseline as the incumbent
(`planetgym shadow-sample`), replay them with `planetgym shadow` (records/s, p50/p99 of the
decision latency as the report gives them), then time the same graph on the same inputs with
planetgym's ONNX interpreter and with onnxruntime (one thread each, from Python), as the
baseline measured in the same run.

    .venv/bin/python experiments/bench/shadow_bench.py [--records N]
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime

import planetgym

REPO = Path(__file__).resolve().parents[2]
BINARY = REPO / "target" / "release" / "planetgym"
CASES = {"traffic": "greedy-spillover@0.8", "placement": "best-fit"}


def percentiles(seconds):
    us = np.array(seconds) * 1e6
    return float(np.percentile(us, 50)), float(np.percentile(us, 99))


def bench(scenario, incumbent, records, work):
    policy_dir = REPO / "experiments" / "policies" / scenario
    export = work / f"{scenario}-export"
    manifest = planetgym.export(policy_dir, export)
    config = work / f"{scenario}.toml"
    config.write_text(manifest["scenario_config"])
    logs = work / f"{scenario}.jsonl"
    subprocess.run(
        [BINARY, "shadow-sample", "--scenario", scenario, "--config", config, "--incumbent", incumbent,
         "--records", str(records), "--output", logs],
        check=True, capture_output=True,
    )
    report = work / f"{scenario}-report.json"
    subprocess.run(
        [BINARY, "shadow", "--policy", export, "--input", logs, "--output", work / "out.jsonl", "--report", report],
        check=True, capture_output=True,
    )
    r = json.loads(report.read_text())

    # The same graph on the same inputs, planetgym's interpreter vs onnxruntime.
    shadow = planetgym.ShadowPolicy(export, runtime="planetgym")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(export / "policy.onnx", options, providers=["CPUExecutionProvider"])
    parsed = [shadow._parse(line) for line in logs.read_text().splitlines()[:1000]]
    inputs = [p.inputs() for p in parsed]
    ours, theirs = [], []
    for p, x in zip(parsed, inputs):
        t = time.perf_counter()
        shadow._artifact.outputs(p)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        session.run(None, x)
        theirs.append(time.perf_counter() - t)
    return r, percentiles(ours), percentiles(theirs), logs.stat().st_size / records


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    print("| scenario | records | bytes/record | shadow records/s | decision p50 / p99 (us) | "
          "interpreter p50 / p99 (us) | onnxruntime p50 / p99 (us) | interpreter / onnxruntime p50 |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for scenario, incumbent in CASES.items():
            r, ours, theirs, size = bench(scenario, incumbent, args.records, Path(tmp))
            print(f"| {scenario} | {r['decisions']} | {size:,.0f} | {r['records_per_s']:,.0f} | "
                  f"{r['latency_p50_us']:.0f} / {r['latency_p99_us']:.0f} | {ours[0]:.0f} / {ours[1]:.0f} | "
                  f"{theirs[0]:.0f} / {theirs[1]:.0f} | {ours[0] / theirs[0]:.2f} |")


if __name__ == "__main__":
    main()
