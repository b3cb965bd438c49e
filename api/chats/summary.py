"""What a chat stores and shows besides its messages: its id per conversation, the queue's summary
of its triage, the history event of a model triage, the override as the API shows it. Pure
functions of their arguments (no database)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from api.schemas import CHAT_ID_MAX
from api.security import Principal
from triage.guidance import RED_FLAGS
from triage.override import effective_triage, override_note
from triage.severity import severity


def actor_data(actor: Principal, name: str | None) -> dict:
    """What a history event keeps of who acted, besides its actor (the key's label)."""
    return {"key": actor.key_id, **({"name": name} if name else {})}


def conversation_id(platform_id: str, number: int) -> str:
    """The chat id of conversation `number` of a platform chat id: the platform's id itself for the
    first, "<platform id>~2" and so on after it ("~" never occurs in a platform id). Within the 64
    characters of a chat id; a long platform id is cut and a hash of it keeps the id unique."""
    if number == 1:
        return platform_id
    tail = f"~{number}"
    if len(platform_id) + len(tail) > CHAT_ID_MAX:
        tail = f"~{hashlib.sha256(platform_id.encode()).hexdigest()[:8]}{tail}"
        return platform_id[:CHAT_ID_MAX - len(tail)] + tail
    return platform_id + tail


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def preview(text: str, chars: int) -> str | None:
    if chars <= 0:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


def chat_severity(prediction: dict, minor: bool) -> tuple[float, str]:
    """How severe the chat is among acute chats (triage/severity.py), with the Dutch reason."""
    p_acute = prediction.get("scores", {}).get("urgency", {}).get("acute", 0.0)
    out = severity(prediction["red_flags"], p_acute, bool(minor), RED_FLAGS)
    return out.score, out.text_nl


def build_summary(prediction: dict, override: dict | None, guidance: list[dict], alert: dict | None = None,
                  returned: dict | None = None) -> dict:
    """What the queue shows of a chat, stored with it: {"triage": the effective triage in short,
    "guidance": card references}. GET /v1/queue splices its JSON text into the response as is.

    `alert`: new danger arrived over an advisor's override (the override lapsed); `returned`: the
    chat came back to the queue because its claim lapsed. Both stay until a person acts on them."""
    triage, overridden = effective_triage(prediction, override)
    score, score_nl = chat_severity(prediction, triage["minor"])
    return {
        "triage": {
            **triage,
            "topics": list(prediction["topics"]),
            "overridden": overridden,
            "red_flags": [{k: f[k] for k in ("cue", "label_nl", "text", "when", "floor")}
                          for f in prediction["red_flags"]],
            "summary_nl": prediction["explanation"].get("summary_nl", "") + override_note(override),
            "model_version": prediction["model_version"],
            "severity": score, "severity_nl": score_nl,
            "alert": alert, "returned": returned,
        },
        "guidance": [{"id": c["id"], "title": c["title"], "reason": c["reason"]} for c in guidance],
    }


def triage_event(prediction: dict, messages: int, chars: int, truncated: bool) -> dict:
    """What the history keeps of a model triage: labels, scores of the chosen labels, cues; no text."""
    return {
        "urgency": prediction["urgency"], "role": prediction["role"], "minor": prediction["minor"],
        "topics": prediction["topics"], "needs_review": prediction["needs_review"],
        "review_reasons": prediction["review_reasons"],
        "urgency_model": prediction["explanation"].get("urgency_model"),
        "red_flag_cues": sorted({f["cue"] for f in prediction["red_flags"]}),
        "model_version": prediction["model_version"], "messages": messages, "chars": chars,
        "truncated": truncated,
    }


def override_out(override: dict | None) -> dict | None:
    if not override:
        return None
    return {k: override.get(k) for k in ("fields", "reason", "advisor", "name", "at")}
