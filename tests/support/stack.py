"""A test's stack as a command has it: hypothesis raises the recursion limit while it
runs a test, which would hide a RecursionError."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def python_default_stack() -> Iterator[None]:
    """The stack a command has: Python's default 1,000 frames with about 100 in use
    (hypothesis raises the limit while it runs a test)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 900)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
