"""Export round trips through a real ONNX runtime, and ShadowPolicy on decision records.

For each policy type (flat MLP with simplex and multi-discrete heads, entity scorer with
discrete and simplex heads, with and without column pooling): train briefly, export, record thousands of observations from the
simulator, and check that onnxruntime reproduces burn's outputs within 1e-5, also with other
numbers of entities through the dynamic axis.
"""

import json
import re
import shutil

import jsonschema
import numpy as np
import onnx
import onnxruntime
import pytest

import planetgym
from conftest import SMALL

CASES = {
    "traffic-flat": ("traffic", {**SMALL["traffic"], "observation": "flat"}),
    "traffic-pairs": ("traffic", {**SMALL["traffic"], "observation": "pairs"}),
    "traffic-pairs-pooled": (
        "traffic", {**SMALL["traffic"], "observation": "pairs"}, {"column_pooling": True}
    ),
    "batch": ("batch", SMALL["batch"]),
    "placement": ("placement", SMALL["placement"]),
    "capacity": ("capacity", SMALL["capacity"]),
}
OBSERVATIONS = 2000
TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    scenario, env, *network = CASES[request.param]
    root = tmp_path_factory.mktemp(request.param)
    config = {
        **(network[0] if network else {}),
        "scenario": scenario,
        "seed": 3,
        "total_steps": 2 * 2 * 32,
        "num_envs": 2,
        "hidden": 16,
        "env": env,
        "ppo": {"rollout_steps": 32, "epochs": 1, "minibatches": 1, "normalise_obs": True},
        "eval": {"episodes": 0},
    }
    run = planetgym.train(config, run_dir=root / "run").run_dir
    manifest = planetgym.export(run, root / "export")
    return scenario, env, run, root / "export", manifest


def record_observations(scenario, env, n):
    vec = planetgym.make_vec(scenario, 4, config=env)
    vec.action_space.seed(5)
    obs, _ = vec.reset(seed=11)
    rows = []
    while sum(len(o) for o in rows) < n:
        rows.append(obs)
        obs, *_ = vec.step(vec.action_space.sample())
    vec.close()
    return np.concatenate(rows)[:n]


def graph_inputs(manifest, obs):
    """The graph's inputs in feature units, built from the manifest alone."""
    layout = manifest["feature_spec"]["layout"]
    scales = lambda features: np.array([f["scale"] for f in features], dtype=np.float32)
    if layout["kind"] == "flat":
        return {"obs": obs * scales(layout["features"])}
    g, f, e = len(layout["global"]), len(layout["entity"]), layout["entities"]
    entities = obs[:, g : g + e * f].reshape(len(obs), e, f) * scales(layout["entity"])
    return {
        "global": obs[:, :g] * scales(layout["global"]),
        "entities": np.ascontiguousarray(entities),
        "entity_mask": np.ascontiguousarray(obs[:, g + e * f :]),
    }


def worst(reference, got):
    reference, got = np.asarray(reference, np.float64), np.asarray(got, np.float64)
    assert reference.shape == got.shape
    return float(np.max(np.abs(reference - got) / np.maximum(1.0, np.abs(reference))))


def test_onnxruntime_reproduces_burn_on_recorded_observations(exported):
    scenario, env, run, out, manifest = exported
    model = onnx.load(out / "policy.onnx")
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [i["name"] for i in manifest["inputs"]]

    obs = record_observations(scenario, env, OBSERVATIONS)
    params, values = planetgym.load_policy(run).forward(obs)
    session = onnxruntime.InferenceSession(out / "policy.onnx", providers=["CPUExecutionProvider"])
    inputs = graph_inputs(manifest, obs)
    got_params, got_values = session.run(None, inputs)
    assert worst(params, got_params) <= TOLERANCE
    assert worst(values, got_values) <= TOLERANCE
    assert manifest["verification"]["max_difference"] <= TOLERANCE

    if manifest["feature_spec"]["layout"]["kind"] != "entity":
        return
    # The dynamic entity axis: every candidate listed twice scores the same, with the same
    # value (the pooling is a mean over present candidates; with column pooling the grid gains
    # as many rows again, each column the same candidates twice).
    twice = dict(inputs)
    twice["entities"] = np.concatenate([inputs["entities"]] * 2, axis=1)
    twice["entity_mask"] = np.concatenate([inputs["entity_mask"]] * 2, axis=1)
    tp, tv = session.run(None, twice)
    assert tp.shape[1] == 2 * params.shape[1]
    assert worst(np.concatenate([params] * 2, axis=1), tp) <= TOLERANCE
    assert worst(values, tv) <= TOLERANCE
    # Fewer candidates: drop the trailing ones that are padding in every observation kept.
    mask = inputs["entity_mask"]
    keep = mask[:, mask.shape[1] // 2 :].max(axis=1) == 0
    if keep.any():
        count = mask.shape[1] // 2
        fewer = {k: v[keep] for k, v in inputs.items()}
        fewer["entities"] = fewer["entities"][:, :count]
        fewer["entity_mask"] = fewer["entity_mask"][:, :count]
        fp, fv = session.run(None, fewer)
        assert worst(params[keep][:, :count], fp) <= TOLERANCE
        assert worst(values[keep], fv) <= TOLERANCE


def test_shadow_policy_takes_the_trained_policys_decisions(exported):
    scenario, env, run, out, manifest = exported
    records = planetgym.shadow.sample_records(scenario, run, 40, config=env, seed=2)
    schema = planetgym.shadow.record_schema(out)
    assert schema == planetgym.shadow.record_schema(scenario, config=env)
    ort_policy = planetgym.ShadowPolicy(out)
    own_policy = planetgym.ShadowPolicy(out, runtime="planetgym")
    for record in records:
        jsonschema.validate(record, schema)
        a, b = ort_policy.act(record), own_policy.act(json.dumps(record))
        incumbent = record["incumbent"]
        if isinstance(incumbent, list) and incumbent and isinstance(incumbent[0], list):
            assert np.allclose(a, incumbent, atol=1e-4) and np.allclose(b, incumbent, atol=1e-4)
        else:
            assert a == b == incumbent
    outputs = ort_policy.outputs(records[0])
    assert set(outputs) == {o["name"] for o in manifest["outputs"]}
    mine = own_policy.outputs(records[0])
    for name in outputs:
        assert worst(outputs[name], mine[name]) <= TOLERANCE


def test_bad_records_and_artifacts_raise_clear_errors(exported, tmp_path):
    scenario, env, run, out, manifest = exported
    record = planetgym.shadow.sample_records(scenario, run, 1, config=env)[0]
    policy = planetgym.ShadowPolicy(out, runtime="planetgym")
    features = record["observation"].get("features") or record["observation"]["global"]
    name = next(iter(features))
    broken = json.loads(json.dumps(record))
    (broken["observation"].get("features") or broken["observation"]["global"]).pop(name)
    with pytest.raises(ValueError, match=re.escape(f"feature `{name}`") + ".* is missing"):
        policy.act(broken)
    with pytest.raises(ValueError, match="not a JSON object"):
        policy.act("{oops")
    without_incumbent = dict(record)
    del without_incumbent["incumbent"]
    policy.act(without_incumbent)  # acting needs no incumbent

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "policy.onnx").write_bytes((out / "policy.onnx").read_bytes()[:-7] + b"garbage")
    with pytest.raises(ValueError, match="SHA-256"):
        planetgym.ShadowPolicy(copy)
    shutil.copy(out / "policy.onnx", copy / "policy.onnx")
    edited = json.loads((out / "manifest.json").read_text())
    edited["feature_spec_hash"] = "0123456789abcdef"
    (copy / "manifest.json").write_text(json.dumps(edited))
    with pytest.raises(ValueError, match="does not match its feature spec"):
        planetgym.ShadowPolicy(copy)
    with pytest.raises(ValueError, match="runtime="):
        planetgym.ShadowPolicy(out, runtime="tensorflow")
