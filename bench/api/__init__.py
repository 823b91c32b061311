"""The plugin contract: what a TTA method, suite, shift or model is written against.

A method subclasses `TTAMethod` (or `GradientTTA`, the protocol's step loop with its
`loss` and `update` hooks; reusable pieces in `bench.api.blocks`), reads the protocol's
facts from `PROTOCOL`, and registers with `register_method`. A backbone implements the
`Backbone` and `RetrievalTowers` protocols, a suite `SuiteDefinition` (or is a TOML suite
file). Nothing here knows any method, suite or backbone by name.
"""

from __future__ import annotations

from bench.api.contract import (
    DIRECTIONS,
    AdaptContext,
    Diverged,
    QueryModel,
    StepOutput,
    TTAMethod,
)
from bench.api.errors import BenchError, ConfigError
from bench.api.gradient import GradientTTA, entropy, entropy_of_probs
from bench.api.interfaces import Backbone, RetrievalTowers, SuiteDefinition
from bench.api.phases import phase
from bench.api.protocol import DEFAULT_LR, PROTOCOL, TEMPERATURE, TIE_RULE, Protocol
from bench.api.registry import (
    register_method,
    register_model,
    register_shift,
    register_suite,
)

__all__ = ["DIRECTIONS", "AdaptContext", "Diverged", "QueryModel", "StepOutput", "TTAMethod",
           "Backbone", "RetrievalTowers", "SuiteDefinition",
           "BenchError", "ConfigError", "GradientTTA", "entropy", "entropy_of_probs",
           "DEFAULT_LR", "PROTOCOL", "TEMPERATURE", "TIE_RULE", "Protocol",
           "register_method", "register_model", "register_shift", "register_suite", "phase"]
