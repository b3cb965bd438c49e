"""An advisor's override of the model's triage: pure policy, no database or web.

The effective triage is the model's with the advisor's fields on top. A new override merges with
the one before it. An override never hides new danger: when a new message brings it, the parts
of the override that could hide it lapse (`lapse_override`). Overrides are plain dicts as stored
on the chat: {"fields": {"urgency"?, "role"?, "minor"?}, "reason", "advisor", "name", ...}.
"""

from __future__ import annotations

from datetime import datetime, timezone

from triage.explain import ROLE_NL, URGENCY_NL
from triage.guidance import RED_FLAGS
from triage.labels import OVERRIDABLE_HEADS, URGENCY_RANK

# The heads an advisor may set, urgency first (it places the chat in the queue; the order of the triage
# and of its "overridden" list), then the others in registry order.
FIELDS = ("urgency", *(h for h in OVERRIDABLE_HEADS if h != "urgency"))
WHEN_RANK = {"now": 0, "unspecified": 1, "recent": 2, "past": 3}


def who(label: str | None, name: str | None) -> str | None:
    """Who acted, for people to read: the key's label, and the name the advisor typed at sign-in
    when it differs (self-declared: a shared key cannot tell its users apart)."""
    if not name or name == label:
        return label
    return f"{label} (opgegeven naam: {name})" if label else f"{name} (opgegeven naam)"


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def effective_triage(prediction: dict, override: dict | None) -> tuple[dict, list[str]]:
    """The model's urgency, role and minor with the override's fields on top, and which were overridden."""
    triage = {key: prediction[key] for key in FIELDS}
    fields = (override or {}).get("fields", {})
    for key in FIELDS:
        if key in fields:
            triage[key] = fields[key]
    # A person has looked at an overridden triage: it no longer waits for review.
    triage["needs_review"] = bool(prediction["needs_review"]) and not fields
    return triage, [k for k in FIELDS if k in fields]


def merge_override(previous: dict | None, given: dict, *, reason: str, advisor: str | None, name: str | None,
                   key: str | None, at: datetime, model_urgency: str) -> dict:
    """A new override: the fields set now on top of those of the override before it (which carry
    over); who, why and when are the new one's."""
    fields = {**(previous or {}).get("fields", {}), **given}
    return {"fields": fields, "reason": reason, "advisor": advisor, "name": name, "key": key, "at": _iso(at),
            "model_urgency": model_urgency}


def override_note(override: dict | None) -> str:
    """The Dutch sentence the chat's summary gets for an override ("" without one)."""
    if not override or not override.get("fields"):
        return ""
    fields = override["fields"]
    parts = []
    if "urgency" in fields:
        parts.append(f"urgentie {URGENCY_NL[fields['urgency']]}")
    if "role" in fields:
        parts.append(f"rol {ROLE_NL[fields['role']]}")
    if "minor" in fields:
        parts.append("minderjarig" if fields["minor"] else "niet minderjarig")
    by = who(override.get("advisor"), override.get("name"))
    return f" Aangepast{f' door {by}' if by else ''}: {', '.join(parts)} (reden: {override.get('reason', '')})."


def worst_when(prediction: dict) -> dict[str, int]:
    """Per red-flag cue the most immediate time it was told with (0 = now)."""
    out: dict[str, int] = {}
    for flag in prediction.get("red_flags", []):
        rank = WHEN_RANK.get(flag.get("when"), WHEN_RANK["unspecified"])
        out[flag["cue"]] = min(rank, out.get(flag["cue"], rank))
    return out


def new_red_flags(before: dict, after: dict) -> list[str]:
    """Cues that are new in `after`, or told as happening more immediately than in `before`."""
    old_when, new_when = worst_when(before), worst_when(after)
    return sorted(cue for cue, rank in new_when.items() if rank < old_when.get(cue, len(WHEN_RANK)))


def lapse_override(override: dict | None, before: dict, after: dict, now: datetime
                   ) -> tuple[dict | None, dict | None]:
    """An advisor's override must never hide new danger.

    New danger is a red flag the chat did not have before this message (or one that is now told
    as happening more immediately), a model urgency above the overridden urgency, or the model now
    finding a minor where the advisor said adult. Then every part of the override that could hide
    it lapses: an urgency that is not above the model's, "not a minor", and the role (the advisor
    judged it on text that no longer tells the whole story). Only parts that make the chat *more*
    urgent stay. Returns (the override that remains, None or {"fields", "new_red_flags", "alert"})."""
    if not override or not override.get("fields"):
        return override, None
    fields = dict(override["fields"])
    new_flags = new_red_flags(before, after)
    above = "urgency" in fields and URGENCY_RANK[after["urgency"]] < URGENCY_RANK[fields["urgency"]]
    minor_found = fields.get("minor") is False and after["minor"]
    if not (new_flags or above or minor_found):
        return override, None
    lapsed = []
    if "urgency" in fields and URGENCY_RANK[fields["urgency"]] >= URGENCY_RANK[after["urgency"]]:
        lapsed.append("urgency")
    if fields.get("minor") is False:
        lapsed.append("minor")
    if "role" in fields:
        lapsed.append("role")
    for key in lapsed:
        fields.pop(key)
    why = []
    if new_flags:
        why.append(f"een nieuw bericht met {'rode vlag' if len(new_flags) == 1 else 'rode vlaggen'} "
                   f"({', '.join(RED_FLAGS.get(c, c) for c in new_flags)})")
    if above:
        why.append(f"het model schat de chat nu {URGENCY_NL[after['urgency']]} in, hoger dan de aanpassing "
                   f"({URGENCY_NL[override['fields']['urgency']]})")
    if minor_found:
        why.append("het model ziet nu een minderjarige chatter")
    by = who(override.get("advisor"), override.get("name"))
    by = f" van {by}" if by else ""
    outcome = (f"de aanpassing{by} is vervallen" if lapsed else f"de aanpassing{by} blijft (die is al urgenter)")
    text = f"Nieuw gevaar: {' en '.join(why)}; {outcome}."
    alert = {"at": _iso(now), "kind": "override_lapsed", "text_nl": text[0].upper() + text[1:]}
    remaining = {**override, "fields": fields} if fields else None
    return remaining, {"fields": lapsed, "new_red_flags": new_flags, "alert": alert}
