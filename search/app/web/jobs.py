"""Answering check sheets as bounded jobs: a few workers of their own, a short queue, cancellation.

Reading, answering and writing a sheet of 2,000 questions takes a minute; searching takes
milliseconds. Sheets therefore run in this pool's own threads (`workers`, one by default on
a small machine), never in the thread pool that serves searches and pages, and at most
`workers + queue` requests hold a place at once. A place is taken *before* the request's
body is read, so a full server answers 503 (混雑しています, with Retry-After) at once instead
of reading uploads it cannot answer. A job whose client hangs up is cancelled: dropped from
the queue, or stopped at its next question.

The answer page polls a job's progress (`status`): queued (and how many jobs are ahead),
running with questions done / total, by an id the page chose (`?progress=ID` on the form's
action), so the bar can move while the form's own request is still waiting for its answer.
"""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from starlette.requests import Request

T = TypeVar("T")
DEFAULT_WORKERS = 1
DEFAULT_QUEUE = 8
PROGRESS_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Busy(Exception):
    """Every place is taken: the client should come back later."""


class Cancelled(Exception):
    """The client went away, so the job stopped."""


@dataclass
class Job:
    """One request's place in the pool, and its progress."""

    progress_id: str | None
    number: int  # admission order
    state: str = "queued"  # queued | running | done
    done: int = 0
    total: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        """Called by the work after each question; stops it once the client has gone."""
        if self.cancelled.is_set():
            raise Cancelled
        self.done, self.total = done, total


class JobPool:
    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"a job pool needs at least one worker and a queue of 0 or more, got {workers}, {queue}")
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kijun-answer")
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._admitted = 0

    @asynccontextmanager
    async def place(self, request: Request) -> AsyncIterator[Job]:
        """Hold a place for this request (Busy if there is none), released when the block ends."""
        wanted = request.query_params.get("progress")
        progress_id = wanted if wanted and PROGRESS_ID.fullmatch(wanted) else None
        with self._lock:
            if len(self._jobs) >= self.workers + self.queue:
                raise Busy
            self._admitted += 1
            job = Job(progress_id, self._admitted)
            self._jobs.append(job)
        try:
            yield job
        finally:
            job.cancelled.set()  # an exception on the way out must not leave the work running
            with self._lock:
                self._jobs.remove(job)

    async def run(self, job: Job, request: Request, work: Callable[..., T], *args: Any) -> T:
        """`work(*args, progress=job.progress)` in a worker thread; Cancelled if the client hangs up first."""
        def start() -> T:
            job.state = "running"
            return work(*args, progress=job.progress)

        future: Future[T] = self._executor.submit(start)
        answer = asyncio.wrap_future(future)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not answer.done():
            job.cancelled.set()
            future.cancel()  # still queued: never starts
            answer.cancel()
            raise Cancelled
        job.state = "done"
        return answer.result()

    def status(self, progress_id: str) -> dict[str, Any] | None:
        """What the answer page shows while it waits: {"state", "done", "total", "ahead"}; None if unknown."""
        with self._lock:
            job = next((j for j in self._jobs if j.progress_id == progress_id), None)
            if job is None:
                return None
            ahead = sum(1 for j in self._jobs if j.number < job.number and j.state != "done") \
                if job.state == "queued" else 0
            return {"state": job.state, "done": job.done, "total": job.total, "ahead": ahead}

    def close(self) -> None:
        """Stop: queued jobs never start, running ones stop at their next question."""
        with self._lock:
            for job in self._jobs:
                job.cancelled.set()
        self._executor.shutdown(wait=False, cancel_futures=True)


async def _disconnected(request: Request) -> None:
    """Returns when the client hangs up (the body has been read: only a disconnect can come)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
