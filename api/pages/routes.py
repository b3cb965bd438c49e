"""The pages for advisors and reviewers (/ui/...) and `GET /v1/me`.

The page shells are server-rendered (Jinja2) and served without a key: they hold no data, only
the layout, the Dutch labels and the scripts. The scripts sign in with an API key (kept in the
tab's sessionStorage, sent as `Authorization: Bearer`), ask `GET /v1/me` for the key's role and
fetch everything else from the JSON API, so a page shows only what the key's role may see; the
API checks every request again. Chat text is untrusted: the scripts only ever insert it as text
(textContent), never as HTML.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import require
from api.schemas import ErrorOut
from api.security import Principal
from api.settings import ROLES
from triage.explain import ROLE_NL, URGENCY_NL, WHEN_NL
from triage.guidance import RED_FLAGS, TOPIC_NL

API_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"
STATIC_PATH = "/ui/static"

ROLE_NAMES_NL = {"queue": "chatplatform", "advisor": "adviseur", "reviewer": "beoordelaar", "admin": "beheerder"}

# Which role may use which page (the API behind each page allows the same roles).
PAGES: dict[str, dict] = {
    "queue": {"path": "/ui/queue", "title": "Wachtrij", "roles": ("advisor", "admin"), "template": "queue.html",
              "needs_name": True},  # claims and overrides record the advisor's name
    "audit": {"path": "/ui/audit", "title": "Beoordelen", "roles": ("reviewer", "admin"), "template": "audit.html",
              "needs_name": False},  # a review is recorded under the reviewer's own key
}

# Dutch words for everything the API returns as codes.
LABELS_NL = {
    "urgency": URGENCY_NL,
    "role": ROLE_NL,
    "topic": TOPIC_NL,
    "red_flag": RED_FLAGS,
    "when": WHEN_NL,
    "outcome": {"advice": "advies gegeven", "report": "melding gedaan", "referral": "doorverwezen",
                "no_help_needed": "geen hulp nodig", "disconnected": "verbinding verbroken", "other": "anders"},
    "head": {"role": "rol", "minor": "minderjarig", "urgency": "urgentie", "topics": "onderwerpen"},
    "minor": {"true": "minderjarig", "false": "volwassen"},
    "user_role": ROLE_NAMES_NL,
    "status": {"waiting": "wacht", "claimed": "geclaimd", "closed": "afgesloten", "left": "chatter vertrokken"},
}

# Security headers for the page shells: scripts and styles only from this server, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

router = APIRouter()


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["static"] = _static_url
    return env


@lru_cache(maxsize=64)
def _static_url(name: str) -> str:
    """/ui/static/<name>?v=<content hash>: browsers may cache, a changed file gets a new URL."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


@lru_cache(maxsize=1)
def cue_lexicon() -> dict:
    """The words and patterns behind the model's linguistic cues (triage/lexicon.py, triage/cues.py),
    so that the reviewer page can highlight which words in a text a cue feature such as
    `cue__time=now` or `cue__poss1=partner` stands for. The model's own lists: one source of truth."""
    from triage import cues, lexicon

    return {
        "words": {
            "time=now": sorted(lexicon.TIME_NOW), "time=now_in_story": sorted(lexicon.TIME_NOW), "time=recent": sorted(lexicon.TIME_RECENT),
            "time=past": sorted(lexicon.TIME_PAST), "harm": sorted(lexicon.HARM_VERBS),
            "first_person": sorted(lexicon.FIRST_SG_SUBJ | lexicon.FIRST_PL_SUBJ | lexicon.FIRST_OBJ),
            "third_person": sorted(lexicon.THIRD_PERSON), "self_profession": sorted(lexicon.PROFESSIONS),
            "work_word": sorted(lexicon.WORK_WORDS), "school_word": sorted(lexicon.SCHOOL_WORDS),
            "youth_word": sorted(lexicon.YOUTH_WORDS),
        },
        "relations": {group: sorted(words) for group, words in lexicon.RELATION_GROUPS.items()},
        "possessives": {"poss1": sorted(lexicon.FIRST_POSS), "poss3": sorted(lexicon.THIRD_POSS)},
        "patterns": {cue: [p.pattern for p in compiled] for cue, compiled in cues.CUE_PATTERNS.items()},
    }


def _page(name: str | None) -> HTMLResponse:
    page = PAGES.get(name) if name else None
    context = {
        "page": page, "page_key": name or "home",
        "pages": [{"key": k, "path": p["path"], "title": p["title"], "roles": list(p["roles"])}
                  for k, p in PAGES.items()],
        "labels": LABELS_NL,
        "config": {"page": name or "home", "roles": list(page["roles"]) if page else list(ROLES),
                   "needs_name": bool(page and page.get("needs_name")),
                   "pages": {k: {"path": p["path"], "title": p["title"], "roles": list(p["roles"])}
                             for k, p in PAGES.items()}},
    }
    if name == "audit":
        context["config"]["cues"] = cue_lexicon()
    html = _env().get_template(page["template"] if page else "home.html").render(**context)
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/", include_in_schema=False)
def root():
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui", include_in_schema=False)
@router.get("/ui/", include_in_schema=False)
def home():
    return _page(None)


@router.get("/ui/queue", include_in_schema=False)
def queue_page():
    return _page("queue")


@router.get("/ui/audit", include_in_schema=False)
def audit_page():
    return _page("audit")


@router.get("/v1/me", tags=["session"], summary="The role of the presented API key (any valid key)",
            responses={401: {"model": ErrorOut}})
def me(principal: Principal = Depends(require(*ROLES))):
    """Which role the key has, in Dutch too, the key's non-secret id (reviews are recorded under it)
    and which pages (/ui/...) that role may use. The pages use it at sign-in; the API still checks
    the role on every request."""
    return {"role": principal.role, "role_nl": ROLE_NAMES_NL.get(principal.role, principal.role),
            "key_id": getattr(principal, "key_id", "") or None,
            "pages": [p["path"] for p in PAGES.values() if principal.role in p["roles"]]}
