"""`triage serve`: start the service with uvicorn on one process.

Start-up work (settings, guidance cards, database migrations, the first admin key, the model) runs
before uvicorn does, so a bad setting or a bad guidance card ends the command with a plain message
and exit code 2 instead of a stack trace.
"""

from __future__ import annotations

import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config(level: str = "info") -> dict:
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # Every argument of a log record is escaped (api/log_safety.py): no input can start a line.
        "formatters": {"default": {"class": "api.log_safety.SafeFormatter", "format": LOG_FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            # uvicorn's access log is off (it would print the decoded path, line breaks and all):
            # triage.api.access logs method, escaped path, status and time.
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
            "triage": {"handlers": ["stderr"], "level": level, "propagate": False},
            "alembic": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }


def _run_workers(config) -> int:
    """uvicorn's multi-process mode (what uvicorn.run does for workers > 1), with TCP_NODELAY on
    the listening socket: the workers get the socket without its protocol number, so asyncio does
    not set TCP_NODELAY on their connections, and small responses then wait for delayed ACKs
    (~40 ms per request on loopback). Linux passes the option on to accepted connections."""
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
    return 0


def _fail(message: str) -> int:
    print(f"triage serve: {message}", file=sys.stderr, flush=True)
    return 2


def run(host: str = "127.0.0.1", port: int = 8000) -> int:
    import logging.config

    import uvicorn
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from api.app import create_app
    from api.db.session import DatabaseConfigError
    from api.runtime import Runtime
    from api.settings import ApiKeyConfigError, ApiSettings
    from triage.artifacts import ArtifactError
    from triage.nlp import PipelineError

    try:
        from triage.guidance import GuidanceError
    except ImportError:  # pragma: no cover - the guidance module is part of the product
        GuidanceError = RuntimeError  # noqa: N806

    try:
        settings = ApiSettings()
    except ValidationError as exc:
        problems = "; ".join(f"TRIAGE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        return _fail(f"invalid settings: {problems}")
    logging.config.dictConfig(log_config(settings.log_level))
    runtime = Runtime(settings)
    try:
        runtime.start()
    except GuidanceError as exc:
        return _fail(f"guidance cards: {exc}")
    except (ArtifactError, PipelineError) as exc:
        return _fail(f"model: {exc}")
    except (ApiKeyConfigError, DatabaseConfigError) as exc:
        return _fail(str(exc))
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        return _fail(f"database: {type(orig or exc).__name__}: {str(orig or exc).strip().splitlines()[0]}")

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    lines = [f"triage API {runtime.triager.model.version} on {base}",
             f"  API docs:  {base}/docs",
             f"  database:  {runtime.db.engine.url.render_as_string(hide_password=True)}"]
    if runtime.admin_key_file is not None:
        lines.append(f"  admin key: {runtime.admin_key_file}")
    elif settings.api_keys:
        lines.append("  API keys:  from TRIAGE_API_KEYS")
    if settings.workers > 1:
        # Each worker process builds its own app (and loads the database's active model) from the
        # environment and follows later activations (api/model_versions/service.py); the checks
        # above have run once here, so start-up problems were already reported.
        lines.append(f"  workers:   {settings.workers} processes")
    elif runtime.triager.processes is not None:
        lines.append(f"  model:     predictions in {settings.resolved_model_processes} model processes "
                     "(TRIAGE_MODEL_PROCESSES)")
    print("\n".join(lines), flush=True)
    from api.slow_clients import protocol

    common = dict(host=host, port=port, log_config=log_config(settings.log_level), access_log=False,
                  lifespan="on", timeout_graceful_shutdown=5, server_header=False, http=protocol(settings),
                  timeout_keep_alive=settings.keep_alive_seconds,
                  h11_max_incomplete_event_size=settings.max_header_bytes)
    if settings.workers > 1:
        runtime.stop()
        del runtime
        return _run_workers(uvicorn.Config("api.app:create_app", factory=True, workers=settings.workers, **common))
    config = uvicorn.Config(create_app(settings, runtime=runtime), **common)
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        runtime.stop()
    return 0 if server.started else 1
