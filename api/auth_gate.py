"""Authentication before work: the API key is checked from the headers, before the body is read.

FastAPI reads and parses a request's body before it solves the dependencies (the route's role
check, api/deps.py), and the service middleware buffers the body even earlier; so without this
an unauthenticated client could make the server read and parse up to TRIAGE_MAX_BODY_BYTES, or
wait TRIAGE_BODY_TIMEOUT_SECONDS for a body that never comes. api/middleware.py calls `check`
first: a request to /v1/... (or /metrics, unless public) without a valid `Authorization: Bearer`
key gets its 401 at once and the connection is closed when a body was announced, so the server
never reads it. A valid key's Principal is kept in the ASGI scope for the route's role check (403
stays there: the role needed depends on the route).
"""

from __future__ import annotations

from api.errors import ApiError

PRINCIPAL_SCOPE_KEY = "triage.principal"
PROTECTED_PREFIX = "/v1/"


def needs_key(path: str, metrics_public: bool) -> bool:
    return path.startswith(PROTECTED_PREFIX) or (path == "/metrics" and not metrics_public)


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "an API key is required: send 'Authorization: Bearer <key>'",
                    field="Authorization", headers={"WWW-Authenticate": "Bearer"})


def invalid_key() -> ApiError:
    return ApiError(401, "invalid_key", "the API key is not valid", field="Authorization",
                    headers={"WWW-Authenticate": "Bearer"})


def check(scope, keys) -> ApiError | None:
    """None when the request carries a valid bearer key (its Principal is then in the scope), else
    the 401 to answer."""
    raw = _header(scope, b"authorization")
    scheme, _, credentials = (raw or b"").decode("latin-1").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return unauthenticated()
    principal = keys.authenticate(credentials)
    if principal is None:
        return invalid_key()
    scope[PRINCIPAL_SCOPE_KEY] = principal
    return None


def announces_body(scope) -> bool:
    length = _header(scope, b"content-length")
    return _header(scope, b"transfer-encoding") is not None or (length is not None and length.strip() not in (b"0", b""))
