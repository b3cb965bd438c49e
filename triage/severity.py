"""How severe an acute chat is, to order acute chats among themselves.

Acute chats all come before every other chat (triage/queue.py). Among them, waiting time alone
would put "help" ahead of a knife at the door if "help" came first. The severity score ranks
acute chats by what the triage found, worst first:

* each red flag counts by its kind (weapons and strangulation weigh most: they are the strongest
  predictors of lethal violence in risk-assessment practice) and by when it happens (now counts
  fully, an unspecified time most, recent less, the past little);
* the worst flag counts fully, further flags add a quarter of their weight (several flags are worse
  than one, but two mild flags should not outrank one life-threatening flag);
* the model's probability of `acute` adds up to 20 points, so chats without flags order by how sure
  the model is;
* a minor adds 5 points (a child has fewer ways to get help elsewhere).

Scores are rounded to whole points so that small differences in probability do not reorder
chats of the same kind; ties are broken by waiting time (the queue does that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

# Weight per red-flag cue (triage/red_flags.py). Unknown cues weigh 10.
KIND_WEIGHT: dict[str, float] = {
    "weapon": 30, "strangulation": 30, "threat_to_kill": 25, "serious_injury": 25, "child_alone": 25,
    "suicide": 25, "locked_in": 20, "sexual_violence": 15, "honour_related": 15, "emergency_call": 10,
    "happening_now": 10, "physical_violence": 10, "image_threat": 5, "hopelessness": 5,
}
WHEN_FACTOR: dict[str, float] = {"now": 1.0, "unspecified": 0.6, "recent": 0.4, "past": 0.1}
FURTHER_FLAG_SHARE = 0.25
MODEL_POINTS = 20.0
MINOR_POINTS = 5.0


class Severity(NamedTuple):
    score: float
    text_nl: str  # a Dutch sentence for the advisor: why this chat is this severe


def severity(red_flags: Iterable[Mapping], p_acute: float, minor: bool,
             labels_nl: Mapping[str, str] | None = None) -> Severity:
    """The severity of a chat from its red flags (dicts with `cue`, `when` and optionally
    `label_nl`), the model's P(acute) and whether the chatter is a minor."""
    labels_nl = labels_nl or {}
    best: dict[str, tuple[float, str, str]] = {}  # cue -> (points, when, label), the worst mention
    for flag in red_flags:
        cue = flag["cue"]
        when = flag.get("when") or "unspecified"
        points = KIND_WEIGHT.get(cue, 10.0) * WHEN_FACTOR.get(when, WHEN_FACTOR["unspecified"])
        if cue not in best or points > best[cue][0]:
            best[cue] = (points, when, flag.get("label_nl") or labels_nl.get(cue) or cue)
    ordered = sorted(best.values(), key=lambda b: -b[0])
    flag_points = (ordered[0][0] + FURTHER_FLAG_SHARE * sum(b[0] for b in ordered[1:])) if ordered else 0.0
    p = min(1.0, max(0.0, float(p_acute)))
    score = round(flag_points + MODEL_POINTS * p + (MINOR_POINTS if minor else 0.0))
    now = [b[2] for b in ordered if b[1] == "now"]
    other = [b[2] for b in ordered if b[1] != "now"]
    parts = []
    if now:
        parts.append(f"nu: {_join(now)}")
    if other:
        parts.append(f"{'verder' if now else 'rode vlag'}: {_join(other)}")
    if minor:
        parts.append("minderjarig")
    parts.append(f"model {round(100 * p)}% zeker van acuut")
    text = "; ".join(parts)
    return Severity(float(score), text[0].upper() + text[1:] + ".")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " en " + words[-1]
