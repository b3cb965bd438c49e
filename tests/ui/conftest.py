"""Browser tests of the pages (/ui/queue, /ui/audit) in headless Chromium.

Set-up, all automatic:
- Chromium comes from Debian's packages (chromium, chromium-driver). When /usr/bin/chromium is
  missing it is installed with apt-get if we are root; otherwise the tests are skipped with a
  message saying so (in CI, CI=true, they fail instead).
- Playwright's Python client drives it with executable_path=/usr/bin/chromium (Playwright's own
  browser download cannot work on a machine without internet). The `playwright` package is in the
  `test` extra that scripts/setup.sh installs.
- `triage serve` runs in a subprocess on a free loopback port with a temporary data directory and
  one known API key per role (TRIAGE_API_KEYS), once for the whole session.
- Screenshots go to artifacts/screenshots/ (one per step that matters, and one for every failed
  test).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from service.helpers import API_KEYS_ENV, KEYS, ROOT, Server, in_ci, server_env

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}  # a laptop screen
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
NAMES = {"advisor": "Anouk", "reviewer": "Ruben", "admin": "Beheer", "queue": "Platform"}
# One key per role, and a second reviewer (agreement needs two reviewers).
UI_KEYS = {**KEYS, "reviewer2": "second-reviewer-key-" + "s" * 20}


def _unavailable(message: str):
    if in_ci():
        pytest.fail(f"{message} (in CI the browser tests must run)")
    pytest.skip(message)


def _ensure_chromium() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    if os.geteuid() != 0:
        _unavailable("Chromium is not installed (/usr/bin/chromium) and installing it needs root: "
                     "run `apt-get install -y chromium chromium-driver` as root, then the UI tests run")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            _unavailable(f"could not install Chromium ({' '.join(command)} exited with {result.returncode}): "
                         f"{result.stderr.strip()[-500:]}")
    if not CHROMIUM.exists():
        _unavailable("apt-get installed chromium but /usr/bin/chromium is still missing")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _ensure_chromium()


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("ui-data")
    keys = API_KEYS_ENV + f",reviewer:{UI_KEYS['reviewer2']}"
    server = Server(server_env(data / "data", api_keys=keys), data / "server.log")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the triage server did not start for the UI tests: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_context(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is missing: run scripts/setup.sh "
                     "(it installs the test extra) or `.venv/bin/pip install playwright`")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):  # the artifacts of this run only
        old.unlink()
    profile = tempfile.mkdtemp(prefix="triage-ui-chromium-")  # a fresh user data dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT, locale="nl-NL", timezone_id="Europe/Amsterdam", reduced_motion="reduce")
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.ui_failed = report.failed
    return report


@pytest.fixture
def page(browser_context, request):
    """A new tab (so a fresh sessionStorage) that fails the test on a JavaScript error and saves a
    screenshot when the test fails."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    if getattr(request.node, "ui_failed", False):
        shot(tab, f"FAILED-{request.node.name}")
    tab.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> Path:
    """Save a screenshot of the viewport as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path))
    return path


class Api:
    """The JSON API with each role's key; remembers the chats a test created and removes them after."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.created: list[str] = []

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {UI_KEYS[role]}"}

    def call(self, method: str, path: str, role: str = "admin", **kwargs) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers(role), **kwargs)

    def chat(self, chat_id: str, text: str, minutes_ago: float = 0.0) -> dict:
        from datetime import datetime, timedelta, timezone

        received = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
        response = self.call("POST", "/v1/chats", "queue",
                             json={"chat_id": chat_id, "text": text, "received_at": received.isoformat()})
        assert response.status_code == 201, response.text
        self.created.append(chat_id)
        return response.json()

    def queue_ids(self) -> list[str]:
        return [i["chat_id"] for i in self.call("GET", "/v1/queue", "advisor").json()["items"]]

    def clear_queue(self) -> None:
        for chat_id in set(self.queue_ids()) | set(self.created):
            self.call("DELETE", f"/v1/chats/{chat_id}", "queue")
        self.created.clear()

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(ui_server):
    """The API of the test server, with an empty queue before and after the test."""
    client = Api(ui_server.url)
    client.clear_queue()
    yield client
    client.clear_queue()
    client.close()


@pytest.fixture
def sign_in(ui_server):
    """sign_in(page, role, path="/ui/queue", name=...): open the page and sign in with the role's key."""

    def do(page, role: str, path: str = "/ui/queue", name: str | None = None):
        page.goto(ui_server.url + path)
        page.get_by_label("Toegangscode").fill(KEYS[role])
        if page.locator("#signin-name").count():  # only pages that record the person's name ask for it
            page.get_by_label("Uw naam").fill(NAMES[role] if name is None else name)
        page.get_by_role("button", name="Inloggen").click()
        page.locator("#session-box").wait_for(state="visible")
        return page

    return do
