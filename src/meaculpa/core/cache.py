"""Small in-process caches with a time limit, for facts read on every request."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A thread-safe LRU map whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(
        self, ttl: float, maxsize: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            stored, value = item
            if self._clock() - stored > self.ttl:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = (self._clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_database_keys: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def database_key(session: Session) -> str:
    """The URL of the database ``session`` is bound to, as the key of per-database entries.

    Rendering a URL costs about ten microseconds, so it is kept per engine.
    """
    engine = session.get_bind().engine
    key = _database_keys.get(engine)
    if key is None:
        key = _database_keys[engine] = str(engine.url)
    return key
