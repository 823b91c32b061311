"""What a site build did and how long each phase took (wall and CPU seconds)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SiteReport:
    out: Path
    pages: list[str] = field(default_factory=list)
    figures: int = 0
    messages: list[str] = field(default_factory=list)
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (wall, cpu) s

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the wall and CPU seconds of the block to `phases[name]`."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            before = self.phases.get(name, (0.0, 0.0))
            self.phases[name] = (before[0] + time.perf_counter() - wall,
                                 before[1] + time.process_time() - cpu)
