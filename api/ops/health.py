"""Readiness checks of /readyz: the database answers a ping, the model processes can predict."""

from __future__ import annotations

import asyncio

from fastapi.concurrency import run_in_threadpool

PING_TIMEOUT_SECONDS = 2.0  # /readyz answers within this even when the database hangs


async def database_check(state, db) -> str:
    """'ok', 'unreachable' or 'no answer within 2 s'. One ping at a time (later calls share the
    one in flight), so a hanging database holds one thread, not one per probe."""
    if db is None:
        return "unreachable"
    ping = getattr(state, "db_ping", None)
    if ping is None or ping.done():
        ping = state.db_ping = asyncio.ensure_future(run_in_threadpool(db.ping))
    try:
        ok = await asyncio.wait_for(asyncio.shield(ping), PING_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {PING_TIMEOUT_SECONDS:.0f} s"
    return "ok" if ok else "unreachable"


def model_processes_check(triager) -> tuple[bool, str]:
    """(ready, what /readyz says) of the model processes (TRIAGE_MODEL_PROCESSES). A pool that is
    restarting after a crash is ready (the server's own model answers meanwhile, for seconds); one
    that cannot be restarted (e.g. the artifact on disk was tampered with) is not: the server no
    longer has the capacity it was configured with, and cannot start again from its model
    directory either."""
    pool = getattr(triager, "processes", None)
    if pool is None:
        return True, "none configured"
    status = pool.status()
    counts = f"{status['running']} of {status['configured']} running"
    if status["state"] == "failed":
        return False, f"failed ({counts}): {status['problem']}; retrying every {pool.retry_seconds:.0f} s"
    if status["state"] == "restarting":
        return True, f"restarting ({counts}; the server's own model answers meanwhile)"
    return True, f"{status['state']} ({counts})"
