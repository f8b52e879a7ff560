"""The engine a server answers with, following the document store without a restart.

Every request asks `LiveEngine.engine`. At most once a second that compares the store's stamp with the one its
engine was built for; when a document was added or removed (by the web page, or by `kijun documents` in another
terminal), a new engine over the new set of documents is built on a thread of its own — its table, its keyword
index, its embedding index (only passages not embedded before: the cache is keyed by their text) — warmed, and
swapped in by one assignment. Searches meanwhile, and those already running, use the old engine to the end.
A rebuild that fails leaves the old engine serving and says why (`error`).

An answer library's memory (`search.library.memory`) is derived from the set of documents too: a new set has
none of its rows. After a swap a thread of its own works them out for the engine then serving, one refresh at a
time (as `kijun library refresh` would); searches meanwhile recall from the entries worked out so far and say how
many are left out, so nobody has to run a command on the server after adding a document on the web.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from messages import Message
from search.documents.loaded import load
from search.documents.store import DocumentDamaged, DocumentStore
from search.engine import Engine
from search.library.store import LibraryError

CHECK_EVERY_S = 1.0


class LiveEngine:
    """One engine at a time, replaced whole when the store's documents change."""

    def __init__(self, engine: Engine, store: DocumentStore | None = None,
                 stamp: tuple[tuple[str, int, int], ...] | None = None, *,
                 notify: Callable[[str], None] | None = None) -> None:
        """`stamp`: the store's stamp when `engine`'s documents were read (default: now)."""
        self._engine = engine
        self.store = store
        self._stamp = stamp if stamp is not None or store is None else store.stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._remembering: threading.Thread | None = None  # the answer library's memory worked out for a new set
        self.notify = notify or engine.notify
        self.error: Message | None = None  # why the last rebuild failed (the old engine still serves)
        self.problems: tuple[DocumentDamaged, ...] = ()  # stored documents the current engine could not read

    @property
    def engine(self) -> Engine:
        """The engine to answer this request with (a rebuild started, if the documents changed)."""
        if self.store is not None and time.monotonic() - self._checked >= CHECK_EVERY_S:
            self.refresh()
        return self._engine

    @property
    def building(self) -> bool:
        """Is a new engine being built for changed documents?"""
        return self._thread is not None

    def refresh(self, *, wait: float | None = None) -> bool:
        """Compare the store with what the engine serves now; rebuild when it changed. `wait`: seconds to wait
        for the engine to serve the store's documents. True when it does (no rebuild running)."""
        self._checked = time.monotonic()
        if self.store is None:
            return True
        with self._lock:
            if self._thread is None and self.store.stamp() != self._stamp:
                self._thread = threading.Thread(target=self._rebuild, name="kijun-documents", daemon=True)
                self._thread.start()
            thread = self._thread
        if thread is not None and wait:
            thread.join(wait)
        return not self.building

    def _rebuild(self) -> None:
        """Build engines until one serves the store's documents as they are when it is ready."""
        assert self.store is not None
        try:
            while True:
                loaded = load(self.store)
                engine = self._engine.with_sources(loaded.sources)
                engine.build()
                engine.warm()
                with self._lock:
                    self._engine, self._stamp, self.problems, self.error = engine, loaded.stamp, loaded.problems, None
                    self._remember()
                    if self.store.stamp() == loaded.stamp:
                        self._thread = None
                        return
        except Exception as e:  # noqa: BLE001 — whatever went wrong, the old engine keeps serving
            self.error = Message("documents_not_loaded", {"reason": str(e)})
            self.notify(self.error.text("cli"))
            with self._lock:
                self._stamp = self.store.stamp()  # not again until the documents change again
                self._thread = None

    def _remember(self) -> None:
        """Work out the answer library's memory for the engine serving now, on a thread of its own (under the lock)."""
        if self._engine.library is None or (self._remembering is not None and self._remembering.is_alive()):
            return  # the running refresh looks again at which engine serves when it is done
        self._remembering = threading.Thread(target=self._refresh_memory, name="kijun-library-memory", daemon=True)
        self._remembering.start()

    def _refresh_memory(self) -> None:
        """Refresh the serving engine's library memory until the engine it refreshed is still the one serving."""
        while True:
            engine = self._engine
            room = engine.memory()
            try:
                if room is not None and engine.library is not None and engine.library.exists:
                    room.refresh()
            except LibraryError as e:  # searches say why the library is not used
                self.notify(f"the answer library's memory was not worked out for the new documents: {e}")
            with self._lock:
                if self._engine is engine:
                    self._remembering = None
                    return

    def settled(self, timeout: float = 600.0) -> bool:
        """Wait for the answer library's memory of the engine serving now (False: still being worked out)."""
        thread = self._remembering
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
