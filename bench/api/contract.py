"""The contracts every method, model and suite is written against.

A TTA method sees a `QueryModel` (the query-side tower of one direction, with
only its LayerNorm affine parameters trainable) and an `AdaptContext` (the
frozen gallery embeddings, the softmax temperature of the dataset and the
protocol's number of steps). The runner calls ``setup`` once per cell and
``adapt`` once per batch of the query stream; ``adapt`` returns the similarity
rows that are scored (for gradient methods: the last step's forward).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

import torch

from bench.api.protocol import PROTOCOL

COMPOSED = "ti2i"  # composed queries: (reference image, modification text) -> image
DIRECTIONS = ("i2t", "t2i", COMPOSED)
DEFAULT_RANK = 1000  # a method's place in tables when it declares none


class QueryModel(Protocol):
    """The query tower of one direction, as a method sees it (for composed queries, ti2i,
    both query towers and their composition: bench/models/composed.py). A backbone's tower
    subclasses it to inherit the defaults below (bench's own do), or declares them."""

    direction: str
    # the learning rate the protocol uses on this tower when a method keeps the default rate
    # (TCR: 3e-5 for BLIP t2i); None: the method's own (bench.api.gradient.effective_lr)
    default_lr: float | None = None

    def encode(self, batch: torch.Tensor) -> torch.Tensor:
        """L2-normalised query embeddings (B x d); differentiable w.r.t. `params()`."""

    def params(self) -> list[torch.nn.Parameter]:
        """The trainable parameters (the query tower's LayerNorm weights and biases)."""

    def named_params(self) -> list[tuple[str, torch.nn.Parameter]]: ...

    def source_encoder(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """A frozen copy of the source query tower's ``encode`` (no grad)."""


@dataclass
class AdaptContext:
    """What a method may know about the cell it adapts in."""

    gallery: torch.Tensor  # (N, d) L2-normalised, frozen source embeddings
    direction: str  # "i2t", "t2i" or "ti2i"
    temperature: float  # whole-gallery softmax temperature of the dataset (docs/protocol.md s. 6)
    steps: int = PROTOCOL.steps  # adaptation steps per batch
    dataset_kind: str = "captions"
    n_queries: int = 0
    # clean_queries(n): clean inputs of the stream's first n queries (for methods that
    # estimate statistics on clean data, e.g. EATA's Fisher); None when not provided
    clean_queries: Callable[[int], torch.Tensor] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepOutput:
    """What `adapt` returns for one batch."""

    rows: torch.Tensor  # (B, N) similarity rows that are scored
    loss: float = float("nan")  # the last step's loss (NaN when nothing was optimised)
    # (B, d) the query embeddings behind `rows` (optional): the common-space diagnostics
    # (bench.engine.diagnostics) read them; None leaves the batch's diagnostics empty
    embeddings: torch.Tensor | None = None


class Diverged(RuntimeError):
    """Raised by a method when its loss becomes NaN or infinite: the cell is `diverged`."""


class TTAMethod:
    """Base of every test-time adaptation method.

    Subclasses set ``name``, ``Config`` (a dataclass of hyperparameters whose
    defaults are the method's published defaults) and optionally ``note`` (shown
    in results, e.g. that a method is a reconstruction) and ``rank`` (its place in
    tables and plots), and implement `setup` and `adapt`.

    The runner reads and calls every optional hook below on every method; the defaults
    are what a method without named loss terms or counters reports (`GradientTTA`
    records terms with ``record_terms``).
    """

    name: ClassVar[str] = ""
    note: ClassVar[str] = ""
    # place in tables and plots, lower first (bench's own: 0-70; ties: by name)
    rank: ClassVar[int] = DEFAULT_RANK

    # ---- optional hooks, with the defaults the runner relies on ------------------------------
    # run --trace-grads: the runner sets it before `setup`; a method then also records each
    # loss term's gradient norm (`term_grads`)
    trace_grads: bool = False
    # counters the method reports in its row (``method_state``), e.g. samples a filter kept;
    # read after the stream, before `reset`
    state: dict[str, Any] | None = None
    # the last batch's gradient norm of each named loss term (with `trace_grads`)
    term_grads: Mapping[str, float] = MappingProxyType({})
    # the last batch's per-step angle (degrees, NaN: undefined) between the update and a
    # knowledge-keeping gradient (with `trace_grads`; `GradientTTA.record_angle`)
    grad_angles: Sequence[float] = ()
    # True for a method that never changes the model: its scored embeddings (StepOutput's
    # ``embeddings``) are the source model's, encoded in the stream's batches, so the
    # diagnostics take the stream's "before" measures from them instead of a second pass
    scores_source: ClassVar[bool] = False
    # component -> the config overrides that remove it, for `bench ablate` (REST declares
    # its own); none: the method cannot be ablated
    ablation: ClassVar[Mapping[str, dict[str, Any]]] = MappingProxyType({})

    @dataclass
    class Config:
        pass

    def __init__(self, config: Any | None = None):
        self.config = config if config is not None else self.Config()

    def setup(self, model: QueryModel, ctx: AdaptContext) -> None:
        self.model = model
        self.ctx = ctx

    def adapt(self, batch: torch.Tensor) -> StepOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self) -> None:
        """Drop any state (the runner also restores source weights per cell)."""

    def clear_terms(self) -> None:
        """Forget the last batch's named loss terms; the runner calls it before each batch."""

    @property
    def terms(self) -> dict[str, float]:
        """The last batch's named loss terms (the trace's ``terms``); none by default."""
        return {}

    @classmethod
    def config_dict(cls, config: Any) -> dict[str, Any]:
        return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
