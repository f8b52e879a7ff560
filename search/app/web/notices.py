"""What a page says after a change it redirected from (Post/Redirect/Get): 「…」を削除しました.

A write (remove an entry, commit a sheet) answers with a redirect, so reloading the page that
follows sends nothing again. What the write did is kept here under a random token that goes in
the redirect's URL (`?notice=TOKEN`): the page says it in the catalogue's words, naming the
question removed, and nothing a link carries can put words of its own on the page. Notices are
few and short-lived: the oldest go past `MAX_NOTICES`, any after `TTL_SECONDS`.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from messages import Message

MAX_NOTICES = 256
TTL_SECONDS = 600.0


class Notices:
    """Messages kept for the page a redirect leads to; safe to share across threads."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[float, Message]] = OrderedDict()

    def put(self, message: Message) -> str:
        """Keep `message`; the token that names it."""
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._kept[token] = (self._clock(), message)
            while len(self._kept) > MAX_NOTICES:
                self._kept.popitem(last=False)
        return token

    def get(self, token: str) -> Message | None:
        """The message under `token` (a reload shows it again), None once expired or unknown."""
        with self._lock:
            kept = self._kept.get(token)
            if kept is None or self._clock() - kept[0] > TTL_SECONDS:
                self._kept.pop(token, None)
                return None
            return kept[1]
