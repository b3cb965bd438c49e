"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ADMIN, bearer, require

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness (public; reveals nothing)")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: model loaded and database reachable (public)")
async def readyz(request: Request):
    runtime = request.app.state.runtime
    model_ok = runtime.triager is not None
    db_ok = await run_in_threadpool(runtime.db.ping) if runtime.db is not None else False
    body = {"status": "ready" if model_ok and db_ok else "not ready",
            "checks": {"model": "ok" if model_ok else "not loaded", "database": "ok" if db_ok else "unreachable"}}
    return JSONResponse(body, status_code=200 if model_ok and db_ok else 503)


_require_admin = require(*ADMIN)


@router.get("/metrics", summary="Prometheus metrics (admin key, unless TRIAGE_METRICS_PUBLIC=true)",
            response_class=Response)
async def metrics(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)):
    runtime = request.app.state.runtime
    if not runtime.settings.metrics_public:
        await _require_admin(request, credentials)
    payload = await run_in_threadpool(generate_latest, runtime.metrics.registry)
    return Response(payload, media_type=CONTENT_TYPE_LATEST)
