"""The event loop `run` and `probe` run on: uvloop when it is installed (the `fast` extra), else asyncio's.

uvloop roughly halves the CPU of the readiness probe's GET (docs/benchmarks.md, "Client
paths"); nothing in the exporter depends on it, so without it everything works the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None for asyncio's default loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def running_loop_name() -> str:
    """"uvloop" or "asyncio": which loop this process runs on (logged at start)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
