"""The preparation step and the pool it runs in, shared by polls and crawls.

``prepare`` turns one fetched item into a candidate, or a refusal saying why not. It is a
module-level function of picklable values (the item and its source's ``SourceContext``), so a
batch can go to a worker process as it is: the workers need no config and no database.

``ExtractionPool`` runs batches of that step in ``workers`` spawned processes (trafilatura takes
tens of milliseconds a page: off a crawl's event loop, and on several cores), or in one thread
when ``workers`` is 0. A batch smaller than ``inline_below`` runs in the calling thread instead,
so a poll bringing a handful of entries pays for no process start-up and no pickling. Processes
start at the first batch that needs them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from aggregator.config import Config
from aggregator.errors import NotAnArticleError
from aggregator.ingest.prepare import Candidate, SourceContext, prepare_item
from aggregator.items import FetchedItem

log = logging.getLogger(__name__)

# Polls prepare in the calling thread unless a batch is full (``Ingestor.ingest``'s 50): most
# polls bring a few new entries per source, fewer than it takes to repay starting processes.
POLL_INLINE_BELOW = 50


@dataclass(frozen=True)
class Refusal:
    """An item the step did not turn into a candidate: skipped (not an article) or failed."""

    source: str
    url: str
    reason: str
    failed: bool = False  # extraction broke, rather than finding no article


Prepared = Candidate | Refusal
Contexts = Mapping[str, SourceContext]  # by source name


def prepare(item: FetchedItem, context: SourceContext | None) -> Prepared:
    """Extract one item; any reason not to store it comes back as a ``Refusal``."""
    if context is None:
        return Refusal(item.source, item.url, f"unknown source {item.source!r}")
    try:
        return prepare_item(item, context)
    except NotAnArticleError as exc:
        return Refusal(item.source, item.url, exc.reason)
    except ValueError as exc:
        return Refusal(item.source, item.url, str(exc))
    except Exception as exc:  # one broken page must not stop the others
        log.exception("extraction failed for %s", item.url, extra={"source": item.source})
        return Refusal(item.source, item.url, f"extraction failed: {exc!r}", failed=True)


def prepare_batch(items: Sequence[FetchedItem], contexts: Contexts) -> list[Prepared]:
    """``prepare`` over a batch, in order: what a worker runs."""
    return [prepare(item, contexts.get(item.source)) for item in items]


class ExtractionPool:
    """Where batches are prepared: worker processes, one thread, or the calling thread."""

    def __init__(self, workers: int, *, inline_below: int = 0) -> None:
        self.workers = workers
        self.inline_below = inline_below
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """Whether its processes (or its thread) are running."""
        return self._executor is not None

    def submit(self, items: Sequence[FetchedItem], contexts: Contexts) -> Future[list[Prepared]]:
        """Prepare ``items``; the future is already done when the batch ran in this thread."""
        if len(items) < self.inline_below:
            done: Future[list[Prepared]] = Future()
            done.set_result(prepare_batch(items, contexts))
            return done
        return self._started().submit(prepare_batch, items, contexts)

    def run(self, items: Sequence[FetchedItem], contexts: Contexts) -> list[Prepared]:
        """Prepare ``items`` and wait: split across the processes when there are several."""
        if len(items) < self.inline_below or self.workers <= 1:
            return self.submit(items, contexts).result()
        size = -(-len(items) // self.workers)
        parts = [self.submit(items[at : at + size], contexts) for at in range(0, len(items), size)]
        return [prepared for part in parts for prepared in part.result()]

    def restart(self) -> None:
        """Replace the processes, after one of them died (the pool is broken then)."""
        with self._lock:
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=True, cancel_futures=True)

    def _started(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = _make_executor(self.workers)
            return self._executor


def _make_executor(workers: int) -> Executor:
    if workers <= 0:
        return ThreadPoolExecutor(1, thread_name_prefix="mutualaid-extract")
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
    )


def _ignore_interrupts() -> None:
    """Ctrl-C is the parent's to handle (it stops the crawl or poll), not each worker's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_shared: dict[int, ExtractionPool] = {}
_shared_lock = threading.Lock()


def extraction_workers(config: Config) -> int:
    """How many extraction processes the config asks for (``crawling.workers``; null: CPUs)."""
    workers = config.crawling.workers
    return workers if workers is not None else (os.cpu_count() or 1)


def shared_pool(config: Config) -> ExtractionPool:
    """This process's pool for polls, sized from ``config``: every poller shares it.

    Its processes start with the first full batch and end with this process.
    """
    workers = extraction_workers(config)
    with _shared_lock:
        if workers not in _shared:
            _shared[workers] = ExtractionPool(workers, inline_below=POLL_INLINE_BELOW)
        return _shared[workers]
