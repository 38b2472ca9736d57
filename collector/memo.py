"""A dict that works a value out the first time it is asked for: a batch's rows repeat a few values endlessly."""

from collections.abc import Callable, Hashable
from typing import Any


class Memo(dict):
    """`memo[key]` is `compute(key)`, computed once per distinct key (plus any answers given up front)."""

    def __init__(self, compute: Callable[[Any], Any], known: dict | None = None) -> None:
        super().__init__(known or {})
        self._compute = compute

    def __missing__(self, key: Hashable) -> Any:
        value = self[key] = self._compute(key)
        return value
