"""Chat writes take turns; reads never wait behind them.

Each client chat write (POST /v1/chats, POST /v1/chats/{id}/messages) runs a prediction and a
redaction (CPU, in this process or a model process) and a short write transaction. Forty of them
at once left nothing for anything else: every one held a thread of the pool (40 by default in
anyio) while waiting for the database, and GET /v1/queue waited for a thread, then shared the
GIL with forty busy threads. So at most TRIAGE_CHAT_WRITE_CONCURRENCY chat writes run at once
per server process; the others wait in arrival order on an asyncio semaphore, in the event loop,
holding no thread and no connection. The thread pool is widened to TRIAGE_REQUEST_THREADS so
reads, advisors' actions and the other routes always find a thread.
"""

from __future__ import annotations

import asyncio
import re

import anyio.to_thread

_CHAT_WRITE = re.compile(r"/v1/chats(?:/[^/]+/messages)?/?")


def is_chat_write(method: str, path: str) -> bool:
    return method == "POST" and _CHAT_WRITE.fullmatch(path) is not None


class WriteGate:
    def __init__(self, concurrency: int, threads: int):
        self.concurrency = concurrency
        self.threads = threads
        self._semaphore: asyncio.Semaphore | None = None
        self._loop = None
        self.waiting = 0

    def _ready(self) -> asyncio.Semaphore:
        """Created on first use, in the server's event loop (the thread limiter is per loop)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop = loop
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(limiter.total_tokens, self.threads)
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._semaphore

    def widen_threads(self) -> None:
        self._ready()

    async def run(self, call):
        semaphore = self._ready()
        self.waiting += 1
        try:
            await semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            return await call()
        finally:
            semaphore.release()
