"""One pure-ASGI middleware, outermost: request body limit (413), latency metrics, an access log
line (method, path, status, time; never a body or query string), and a 500 for unexpected errors
that logs the exception type and stack but not its message (messages may quote input)."""

from __future__ import annotations

import json
import logging
import time
import traceback

access_log = logging.getLogger("triage.api.access")
error_log = logging.getLogger("triage.api")

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


class ServiceMiddleware:
    def __init__(self, app, max_body_bytes: int, metrics=None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
            await send(message)

        try:
            app_receive = receive
            if scope["method"] in _BODY_METHODS:
                app_receive = await self._buffered(scope, receive, send_wrapper)
            if app_receive is not None:
                await self.app(scope, app_receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            stack = "".join(traceback.format_tb(exc.__traceback__))
            error_log.error("unhandled %s in %s %s\n%s", type(exc).__name__, scope["method"],
                            _route(scope), stack)
            if not state["started"]:
                await _send_json(send_wrapper, 500, {"detail": "internal error", "code": "internal_error"})
        finally:
            elapsed = time.perf_counter() - start
            route = _route(scope)
            if self.metrics is not None:
                self.metrics.request_latency.labels(scope["method"], route, str(state["status"])).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.1fms", scope["method"], scope.get("path", ""), state["status"],
                                elapsed * 1000)

    async def _buffered(self, scope, receive, send):
        """Read the whole body (at most max_body_bytes) and return a receive that replays it;
        None when a response (413/400) was sent or the client went away."""
        limit = self.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"detail": "invalid Content-Length header", "code": "bad_request"})
                    return None
                if declared > limit:
                    await _send_json(send, 413, _too_large(limit), [(b"connection", b"close")])
                    return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, _too_large(limit), [(b"connection", b"close")])
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def _too_large(limit: int) -> dict:
    return {"detail": f"the request body is larger than {limit} bytes", "code": "body_too_large", "field": "body"}


def _route(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
