"""One pure-ASGI middleware, outermost. In order, per request:

1. authentication before work (api/auth_gate.py): a request that needs an API key and has no
   valid one gets 401 before its body is read;
2. the request body, read whole within TRIAGE_BODY_TIMEOUT_SECONDS (408 otherwise) and at most
   TRIAGE_MAX_BODY_BYTES (413);
3. client chat writes take turns (api/write_gate.py), so reads never wait behind them;
4. latency metrics, an access line (method, escaped path, status, time; never a body or query
   string, api/log_safety.py), and a 500 for unexpected errors that logs the exception type and
   stack but not its message (messages may quote input).
A 401, 408 or 413 sent before the body was read closes the connection, so the body is never read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback

from api import auth_gate
from api.log_safety import Verbatim, escape
from api.write_gate import WriteGate, is_chat_write

access_log = logging.getLogger("triage.api.access")
error_log = logging.getLogger("triage.api")

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_CLOSE = (b"connection", b"close")


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
        self._gate: WriteGate | None = None

    def _write_gate(self, settings) -> WriteGate:
        if self._gate is None:
            self._gate = WriteGate(settings.chat_write_concurrency, settings.request_threads)
        return self._gate

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
            runtime = scope["app"].state.runtime
            settings = runtime.settings
            gate = self._write_gate(settings)
            gate.widen_threads()
            method, path = scope["method"], scope.get("path", "")
            if auth_gate.needs_key(path, settings.metrics_public):
                refused = auth_gate.check(scope, runtime.keys)
                if refused is not None:
                    headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                               for k, v in (refused.headers or {}).items()]
                    if auth_gate.announces_body(scope):
                        headers.append(_CLOSE)  # the body is never read
                    await _send_json(send_wrapper, refused.status, refused.body(), headers)
                    return
            app_receive = receive
            if method in _BODY_METHODS:
                app_receive = await self._buffered(scope, receive, send_wrapper, settings.body_timeout_seconds)
            if app_receive is None:
                return
            if is_chat_write(method, path):
                await gate.run(lambda: self.app(scope, app_receive, send_wrapper))
            else:
                await self.app(scope, app_receive, send_wrapper)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            stack = Verbatim("".join(traceback.format_tb(exc.__traceback__)))
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
                # The path is request data: escaped, so it cannot break or forge a log line.
                access_log.info("%s %s %d %.1fms", Verbatim(escape(scope["method"], 16)),
                                Verbatim(escape(scope.get("path", ""))), state["status"], elapsed * 1000)

    async def _buffered(self, scope, receive, send, timeout: float):
        """Read the whole body (at most max_body_bytes, within `timeout` seconds) and return a
        receive that replays it; None when a response (400/408/413) was sent or the client went away."""
        limit = self.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"detail": "invalid Content-Length header", "code": "bad_request"},
                                     [_CLOSE])
                    return None
                if declared > limit:
                    await _send_json(send, 413, _too_large(limit), [_CLOSE])
                    return None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await _send_json(send, 413, _too_large(limit), [_CLOSE])
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _send_json(send, 408, {"detail": f"the request body did not arrive within {timeout:g} s",
                                         "code": "body_timeout", "field": "body"}, [_CLOSE])
            return None
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
