"""A counter of event-loop turns: a test reads whether the loop kept running other tasks."""

from __future__ import annotations

import asyncio


class LoopTurns:
    """While active, counts the times a task sleeping ``pause`` seconds got to run again."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.count = 0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.pause)
            self.count += 1

    def __enter__(self) -> "LoopTurns":
        self._task = asyncio.ensure_future(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
