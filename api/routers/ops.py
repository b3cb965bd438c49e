"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ADMIN, bearer, require

router = APIRouter(tags=["operations"])

PING_TIMEOUT_SECONDS = 2.0  # /readyz answers within this even when the database hangs


@router.get("/healthz", summary="Liveness (public; reveals nothing)")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: model loaded, model processes able to predict, database reachable, "
                                "audit records accepted (public)")
async def readyz(request: Request):
    runtime = request.app.state.runtime
    model_ok = runtime.triager is not None
    processes_ok, processes = model_processes_check(runtime.triager)
    database = await database_check(request.app.state, runtime.db)
    writer = runtime.audit_writer
    audit_ok, audit = writer.health() if writer is not None else (False, "not started")
    ready = model_ok and processes_ok and database == "ok" and audit_ok
    body = {"status": "ready" if ready else "not ready",
            "checks": {"model": "ok" if model_ok else "not loaded", "model_processes": processes,
                       "database": database, "audit": audit}}
    return JSONResponse(body, status_code=200 if ready else 503)


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


_require_admin = require(*ADMIN)


@router.get("/metrics", summary="Prometheus metrics (admin key, unless TRIAGE_METRICS_PUBLIC=true)",
            response_class=Response)
async def metrics(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)):
    runtime = request.app.state.runtime
    if not runtime.settings.metrics_public:
        await _require_admin(request, credentials)
    payload = await run_in_threadpool(generate_latest, runtime.metrics.registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
