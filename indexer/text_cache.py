"""Memoised functions of text, bounded in bytes rather than in entries.

A cache keyed by text that users send (a pasted question, a search) must not grow with what
they send: 256 entries of a 10,000-character query's tokens are hundreds of MB, 16,384 entries
of a sheet's questions more. Each entry here costs the size of what it holds (the value, which
for a tokenizer outweighs its key), and the least recently used go first once the total passes
the budget; a value larger than the whole budget is returned but not kept.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from cachetools import LRUCache, cached

F = TypeVar("F", bound=Callable[..., Any])


def approx_bytes(value: Any) -> int:
    """What a value of strings, numbers, tuples (or lists), mappings and dataclasses of them holds in
    memory."""
    size = sys.getsizeof(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        size += sum(approx_bytes(v) for v in value)
    elif isinstance(value, dict):
        size += sum(approx_bytes(k) + approx_bytes(v) for k, v in value.items())
    elif is_dataclass(value):
        size += sum(approx_bytes(getattr(value, f.name)) for f in fields(value))
    return size


def text_cache(max_bytes: int) -> Callable[[F], F]:
    """A thread-safe LRU memo of at most `max_bytes` (as `approx_bytes` counts its values)."""
    cache: LRUCache[Any, Any] = LRUCache(maxsize=max_bytes, getsizeof=approx_bytes)
    return cached(cache, lock=threading.Lock())  # type: ignore[return-value]
