"""The app factory: `create_app(settings=None)` (for uvicorn: `uvicorn --factory api.app:create_app`)."""

from __future__ import annotations

import inspect
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from api import openapi
from api.errors import install_handlers
from api.middleware import ServiceMiddleware
from api.chats import routes as chats
from api.model_versions import routes as models
from api.ops import routes as ops
from api.pages import routes as pages
from api.predictions import routes as triage
from api.queue import routes as queue
from api.audit import routes as audit_routes
from api.runtime import Runtime
from api.settings import ApiSettings
from api.time_window import ReceivedWindow, bind_window

DESCRIPTION = """
Triage assistant for the chat of Veilig Thuis: triage of chat openers, the advisor queue and
guidance cards.

Authenticate with an API key: `Authorization: Bearer <key>` (the **Authorize** button).
Roles: `queue` (the chat platform: chats and triage), `advisor` (queue, claim, release, close,
override), `reviewer` (audit records, reviews, export, statistics, model list), `admin`
(everything, including model activation).
Times are UTC, ISO-8601. Client text is never logged; audit records keep it redacted only.
"""


# FastAPI's native OpenTelemetry (0.165+) is off: it would record validation failures and exception
# messages (which may quote chat text) and, with FASTAPI_OTEL_AUTO_CONFIGURE=true, export them; its
# spans also cost ~0.5 ms per request. The service has its own Prometheus metrics and access log.
NO_NATIVE_TELEMETRY = ({"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                                      "auto_configure": False}}
                       if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def create_app(settings: ApiSettings | None = None, *, model=None, cards=None,
               runtime: Runtime | None = None) -> FastAPI:
    """The service. `model` and `cards` may be given (tests load the model once per session);
    otherwise they are loaded at start-up. `runtime` may be an already started Runtime."""
    settings = settings or (runtime.settings if runtime else ApiSettings())
    runtime = runtime or Runtime(settings, model=model, cards=cards)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(runtime.start)
        yield
        runtime.stop()

    from triage import __version__

    app = FastAPI(title="triage API", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
                  dependencies=[Depends(bind_window)], **NO_NATIVE_TELEMETRY)
    app.state.runtime = runtime
    app.state.received_window = ReceivedWindow.from_settings(settings)
    install_handlers(app)
    openapi.install(app)
    app.include_router(triage.router)
    app.include_router(chats.router)
    app.include_router(queue.router)
    app.include_router(audit_routes.router)
    app.include_router(models.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.mount(pages.STATIC_PATH, pages.static_files(), name="ui-static")
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=runtime.metrics)
    return app
