"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ADMIN, RuntimeDep, bearer, require
from api.ops.health import database_check, model_processes_check

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness (public; reveals nothing)")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: model loaded, model processes able to predict, database reachable, "
                                "audit records accepted (public)")
async def readyz(request: Request, runtime: RuntimeDep):
    if not runtime.started:
        return JSONResponse({"status": "not ready", "checks": {"model": "not loaded", "model_processes": "not started",
                                                               "database": "unreachable", "audit": "not started"}},
                            status_code=503)
    services = runtime.services
    # Not ready while the version the database names as active cannot be loaded here: a proxy then
    # sends requests to the instances that serve it.
    follow_problem = services.registry.follow_problem
    model_ok = follow_problem is None
    processes_ok, processes = model_processes_check(services.triager)
    database = await database_check(request.app.state, services.db)
    audit_ok, audit = services.audit_writer.health()
    ready = model_ok and processes_ok and database == "ok" and audit_ok
    body = {"status": "ready" if ready else "not ready",
            "checks": {"model": "ok" if model_ok else follow_problem, "model_processes": processes,
                       "database": database, "audit": audit},
            "model_version": services.triager.model_version}
    return JSONResponse(body, status_code=200 if ready else 503)


_require_admin = require(*ADMIN)


@router.get("/metrics", summary="Prometheus metrics (admin key, unless TRIAGE_METRICS_PUBLIC=true)",
            response_class=Response)
async def metrics(request: Request, runtime: RuntimeDep,
                  credentials: HTTPAuthorizationCredentials | None = Depends(bearer)):
    if not runtime.settings.metrics_public:
        await _require_admin(request, credentials)
    payload = await run_in_threadpool(generate_latest, runtime.metrics.registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
