"""Exported policies: ``export`` a trained policy as ONNX + manifest, and run it on logged
decision records with :class:`ShadowPolicy`, as a production system would in shadow mode.

A record is one decision as production logs it (see ``planetgym shadow --schema SCENARIO``)::

    {"timestamp": 1767225600,
     "observation": {"features": {...}}            # or {"global": {...}, "entities": [{...}]}
     "action_mask": [...],                         # optional, discrete spaces
     "incumbent": ...}                             # optional here, required by `planetgym shadow`
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Union

import numpy as np

from . import _core
from ._config import count, to_toml

PathLike = Union[str, "os.PathLike[str]"]
Record = Union[str, Mapping[str, Any]]

_RUNTIMES = ("onnxruntime", "planetgym")


def export(run_dir: PathLike, out_dir: PathLike) -> dict[str, Any]:
    """Export the policy in ``run_dir`` (a run directory or any directory with a
    ``policy.json``) to ``out_dir``: ``policy.onnx`` and ``manifest.json``. Returns the
    manifest. The export is checked against the burn policy before it is written."""
    return json.loads(_core.export(os.fspath(run_dir), os.fspath(out_dir)))


def record_schema(target: str | PathLike, config: Any = None, **overrides: Any) -> dict[str, Any]:
    """The JSON Schema of a decision record, for a scenario name (with its config) or for the
    export in a directory (same as ``planetgym shadow --schema``)."""
    text, _ = to_toml(config, overrides, os.fspath(target))
    return json.loads(_core.record_schema(os.fspath(target), text))


def sample_records(
    scenario: str,
    incumbent: str | PathLike,
    records: int,
    config: Any = None,
    seed: int = 0,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """``records`` decision records from the simulator, with ``incumbent`` deciding: a
    baseline's name (see ``baselines``) or a trained policy's directory (same as
    ``planetgym shadow-sample``)."""
    records, seed = count("records", records), count("seed", seed)
    text, _ = to_toml(config, overrides, scenario)
    lines = _core.sample_records(scenario, os.fspath(incumbent), records, text, seed)
    return [json.loads(line) for line in lines.splitlines()]


class ShadowPolicy:
    """An exported policy, loaded from its directory after every check (ONNX checksum,
    FeatureSpec hash, scenario, tensor names and shapes): a corrupted or mismatched artifact
    raises ``ValueError``.

    ``runtime="onnxruntime"`` (default) runs the graph with onnxruntime, as production would;
    ``runtime="planetgym"`` uses planetgym's own ONNX interpreter (no extra dependency).
    Records are validated in either case: ``ValueError`` names the missing, unknown or
    malformed feature.
    """

    def __init__(self, path: PathLike, runtime: str = "onnxruntime") -> None:
        if runtime not in _RUNTIMES:
            raise ValueError(f"runtime={runtime!r}: allowed {', '.join(map(repr, _RUNTIMES))}")
        self.path = Path(path)
        self._artifact = _core.ShadowArtifact(os.fspath(self.path))
        self.manifest: dict[str, Any] = json.loads(self._artifact.manifest_json())
        self.runtime = runtime
        self._session = None
        if runtime == "onnxruntime":
            try:
                import onnxruntime
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "ShadowPolicy(runtime='onnxruntime') needs onnxruntime: "
                    "pip install 'planetgym[shadow]', or pass runtime='planetgym'"
                ) from e
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            # The bytes that passed the checks, not the file again.
            self._session = onnxruntime.InferenceSession(
                self._artifact.onnx_bytes(), options, providers=["CPUExecutionProvider"]
            )

    @property
    def scenario(self) -> str:
        return self.manifest["scenario"]

    def _parse(self, record: Record) -> Any:
        text = record if isinstance(record, str) else json.dumps(record)
        return self._artifact.parse(text)

    def outputs(self, record: Record) -> dict[str, np.ndarray]:
        """The graph's outputs for one record (action parameters and value, batch of one)."""
        parsed = self._parse(record)
        names = [o["name"] for o in self.manifest["outputs"]]
        if self._session is None:
            return dict(zip(names, self._artifact.outputs(parsed)))
        return dict(zip(names, self._session.run(names, parsed.inputs())))

    def act(self, record: Record) -> Any:
        """The policy's decision for one record, in the record's action format (an index, a
        list of indices, a list of values or a list of rows)."""
        parsed = self._parse(record)
        if self._session is None:
            return json.loads(self._artifact.decide(parsed))
        params = self._session.run([self.manifest["outputs"][0]["name"]], parsed.inputs())[0]
        return json.loads(self._artifact.decide(parsed, np.ascontiguousarray(params[0])))

    def __repr__(self) -> str:
        return f"ShadowPolicy({str(self.path)!r}, scenario={self.scenario!r}, runtime={self.runtime!r})"
