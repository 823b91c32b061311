"""Cells: the unit of evaluation, and their stable ids.

A cell = (model, weights, suite, dataset, direction, shift, severity, stream,
method, method config, seed, protocol settings). Its id is a hash of that
canonical description, so a results folder can be resumed and merged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bench.api.protocol import Protocol
from bench.data.preprocess import InputSpec
from bench.suites.base import CellSpec


@dataclass(frozen=True)
class Cell:
    suite: str
    suite_version: str
    spec: CellSpec
    method: str  # registry name
    label: str  # the name shown in results: method, or method[changed options]
    config: Any  # the method's Config dataclass instance
    model: str
    pretrained: str
    weights_id: str
    seed: int
    protocol: Protocol
    image_size: tuple[int, int] | None = None  # model input size override (--image-size)
    # Real-data cells: preprocessing, caption rule, activation and query source
    # (bench/data/preprocess.py). None for embedded suites: their recipe is fixed by the suite
    # version, so it is not part of their cell ids.
    inputs: InputSpec | None = None
    # also trace each loss term's gradient norm (--trace-grads); changes no result, not in the id
    trace_grads: bool = False
    # the common-space diagnostics (bench.engine.diagnostics) in the row and the trace;
    # changes no result, not in the id
    diagnostics: bool = True
    # also measure retention when the suite's cell does not ask for it (--retention);
    # adds a measurement, changes no other, not in the id
    retention: bool = False

    def describe(self) -> dict[str, Any]:
        """The canonical description hashed into the cell id."""
        spec = dataclasses.asdict(self.spec)
        if not spec["min_segment_batches"]:  # added later: older cells keep their ids
            del spec["min_segment_batches"]
        return {
            "suite": self.suite, "suite_version": self.suite_version, "spec": spec,
            "method": self.method, "config": dataclasses.asdict(self.config),
            "model": self.model, "weights": self.weights_id, "seed": self.seed,
            **({"image_size": list(self.image_size)} if self.image_size else {}),
            **({"inputs": self.inputs.record()} if self.inputs is not None else {}),
            "protocol": dataclasses.asdict(self.protocol),
        }

    @property
    def cell_id(self) -> str:
        blob = json.dumps(self.describe(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def title(self) -> str:
        s = self.spec
        shift = "clean" if s.shift == "clean" else f"{s.shift}@{s.severity}"
        stream = "" if s.stream == "single" else f" [{s.stream}]"
        return f"{self.suite} {s.dataset} {s.direction} {shift}{stream} {self.label} seed={self.seed}"
