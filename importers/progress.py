"""Progress reporting seam: services ask for a bar, commands hand them tqdm, tests nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Bar(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def close(self) -> Any: ...


BarFactory = Callable[[str, int | None], Bar]


class _NullBar:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(desc: str, total: int | None) -> Bar:
    return _NullBar()


def tqdm_bars(stream: Any) -> BarFactory:
    """Bars on `stream` (a command's stderr); tqdm hides them when it is not a terminal."""
    from tqdm import tqdm

    def factory(desc: str, total: int | None) -> Bar:
        return tqdm(total=total, desc=desc, unit="row", file=stream, leave=False, disable=None)

    return factory
