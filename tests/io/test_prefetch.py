"""The background-thread stage of the file pipeline: order, errors, early stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from pedbone.io._zscore_file import _prefetch


def test_items_arrive_in_order() -> None:
    assert list(_prefetch(iter(range(50)), depth=2)) == list(range(50))


def test_an_error_arrives_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 7: bad")

    got: list[int] = []
    with pytest.raises(ValueError, match="line 7: bad"):
        got.extend(_prefetch(items()))
    assert got == [1, 2]


def test_closing_early_stops_the_thread() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    before = threading.active_count()
    stage = _prefetch(items(), depth=2)
    assert next(stage) == 0
    stage.close()
    assert threading.active_count() == before
    assert len(produced) <= 5  # it never ran far ahead
