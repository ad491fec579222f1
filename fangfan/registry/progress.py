"""Progress for long commands: rich on a terminal, silent otherwise (tests, CI, pipes)."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager

from rich.console import Console


class Progress:
    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.started = time.perf_counter()
        self._status = None

    @contextmanager
    def step(self, label: str):
        if not self.enabled:
            yield
            return
        t0 = time.perf_counter()
        with self.console.status(f"[bold]{label}…") as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None
        self.console.log(f"{label} [dim]{time.perf_counter() - t0:.1f}s[/]")

    def update(self, label: str) -> None:
        """A new label for the step under way (a part of a long step)."""
        if self.enabled and self._status is not None:
            self._status.update(f"[bold]{label}…")

    def done(self, summary) -> None:
        if self.enabled:
            self.console.log(f"完成,用时 {time.perf_counter() - self.started:.1f}s")


def is_interactive() -> bool:
    return sys.stderr.isatty()
