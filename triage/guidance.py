"""Guidance cards: a Dutch knowledge base for advisors, chosen per chat from the model's prediction.

Each card is a Markdown file in ``<project root>/guidance/`` with YAML front matter::

    ---
    id: verwurging                  # required, a unique slug (a-z, 0-9, hyphens)
    title: Verwurging               # required, Dutch
    source: Veilig Thuis            # required, where the advice comes from
    priority: 10                    # optional int (default 0), added to the score
    pinned: true                    # optional (default false): always shown when it applies
    applies_to:                     # optional; a missing or empty entry means "any"
      roles: [victim]               # triage/labels.py ROLES
      urgency: [acute, high]        # triage/labels.py URGENCIES
      topics: [physical]            # triage/labels.py TOPICS
      red_flags: [strangulation]    # RED_FLAGS below
      minor: true                   # true: only minors, false: only adults, null: anyone
      non_dutch: true               # true: only openers not written in Dutch, null: anyone
    ---
    The body: concise Dutch guidance for the advisor (Markdown).

guidance/README.md is documentation for card authors and is not a card.

When a card applies
-------------------
``roles``, ``urgency``, ``minor`` and ``non_dutch`` are filters: each one that is set must match.
``topics`` and ``red_flags`` are triggers: if a card lists any, at least one of them must match.
A topic or a red flag is enough, because the model's topic head and the red-flag layer see the
same danger from two sides (a sexual-violence card fits topic ``sexual`` or the flag
``sexual_violence``).

Scoring (higher first; ties by id)
----------------------------------
* red flag matched: 100 for the first, +10 for each further one. Danger cues come first.
* urgency matched: 90 if acute, 30 otherwise
* role matched: 25; minor matched: 25 (adult: 5); non-Dutch matched: 25
* topic matched: 15 each
* plus the card's own ``priority``

``select`` returns the ``limit`` best applicable cards. Pinned cards that apply are always
included, even beyond ``limit``, because a safety card must never be crowded out. The pinned
cards are acute danger, strangulation, minors, suicide risk and child alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from frontmatter.default_handlers import YAMLHandler
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from pydantic_core import ErrorDetails

import triage
from triage.explain import ROLE_NL, URGENCY_NL
from triage.labels import ROLES, TOPICS, URGENCIES

# The cue names of triage/red_flags.py with their Dutch labels. They are copied rather than
# imported, so this module does not need spaCy. tests/test_guidance.py keeps the two in sync.
RED_FLAGS: dict[str, str] = {
    "weapon": "wapen",
    "strangulation": "verwurging",
    "threat_to_kill": "doodsbedreiging",
    "locked_in": "opgesloten",
    "happening_now": "gebeurt nu",
    "serious_injury": "ernstig letsel",
    "child_alone": "kind alleen of onveilig",
    "suicide": "suïciderisico",
    "hopelessness": "ziet het niet meer zitten",
    "image_threat": "dreigt beelden te verspreiden",
    "honour_related": "eergerelateerd of huwelijksdwang",
    "sexual_violence": "seksueel geweld",
    "emergency_call": "hulpdiensten gebeld",
    "physical_violence": "fysiek geweld",
}
TOPIC_NL: dict[str, str] = {
    "physical": "lichamelijk geweld",
    "psychological": "psychisch geweld",
    "sexual": "seksueel geweld",
    "neglect": "verwaarlozing",
    "financial": "financieel misbruik",
    "coercive_control": "dwingende controle",
    "stalking": "stalking",
    "honour_related": "eergerelateerd geweld",
    "child_abuse": "kindermishandeling",
    "elder_abuse": "ouderenmishandeling",
    "exploitation": "uitbuiting",
    "digital": "digitaal geweld",
}

SCORE_RED_FLAG, SCORE_EXTRA_FLAG = 100, 10
SCORE_ACUTE, SCORE_URGENCY = 90, 30
SCORE_ROLE, SCORE_MINOR, SCORE_ADULT, SCORE_NON_DUTCH, SCORE_TOPIC = 25, 25, 5, 25, 15

_NOT_CARDS = {"readme.md"}


class GuidanceError(ValueError):
    """Invalid guidance cards. ``problems`` lists every problem as 'file: field: what is wrong'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid guidance cards:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Card:
    id: str
    title: str
    body: str
    source: str
    roles: tuple[str, ...]
    urgency: tuple[str, ...]
    topics: tuple[str, ...]
    minor: bool | None
    red_flags: tuple[str, ...]
    priority: int
    path: Path | None
    pinned: bool = False
    non_dutch: bool | None = None


@dataclass(frozen=True)
class _Match:
    card: Card
    score: int
    reasons: tuple[str, ...]


@dataclass
class CardLibrary:
    cards: list[Card]

    def get(self, card_id: str) -> Card:
        for card in self.cards:
            if card.id == card_id:
                return card
        raise KeyError(card_id)

    @property
    def ids(self) -> list[str]:
        return [card.id for card in self.cards]

    def select(self, prediction: Mapping, limit: int = 4) -> list[dict]:
        """The best cards for a prediction, as {"id", "title", "body", "source", "reason"} dicts.

        ``prediction`` has the model's keys role, minor, urgency, topics, red_flags (dicts with a
        "cue", or plain cue names) and optionally language. Missing keys count as unknown.
        """
        if limit < 0:
            raise ValueError("limit must be >= 0")
        facts = _Facts.of(prediction)
        matches = [m for card in self.cards if (m := _match(card, facts)) is not None]
        matches.sort(key=lambda m: (-m.score, m.card.id))
        pinned = [m for m in matches if m.card.pinned]
        chosen = pinned + [m for m in matches if not m.card.pinned][:max(0, limit - len(pinned))]
        chosen.sort(key=lambda m: (-m.score, m.card.id))
        return [{"id": m.card.id, "title": m.card.title, "body": m.card.body, "source": m.card.source,
                 "reason": "; ".join(m.reasons) or "algemeen"} for m in chosen]


def default_directory() -> Path:
    return Path(triage.__file__).resolve().parent.parent / "guidance"


def load_cards(directory: Path | None = None) -> CardLibrary:
    """Loads and validates every card. Raises GuidanceError listing all problems at once."""
    directory = Path(directory) if directory is not None else default_directory()
    if not directory.is_dir():
        raise GuidanceError([f"{directory}: no such directory"])
    paths = sorted(p for p in directory.glob("*.md") if p.name.lower() not in _NOT_CARDS)
    if not paths:
        raise GuidanceError([f"{directory}: no guidance cards (*.md)"])

    cards: list[Card] = []
    problems: list[str] = []
    first_file: dict[str, str] = {}
    for path in paths:
        card, card_problems = _parse(path)
        problems += card_problems
        if card is None:
            continue
        if card.id in first_file:
            problems.append(f"{path.name}: id: duplicate id {card.id!r} (also in {first_file[card.id]})")
            continue
        first_file[card.id] = path.name
        cards.append(card)
    if problems:
        raise GuidanceError(problems)
    return CardLibrary(cards)


# ---------------------------------------------------------------------------------------------
# Parsing and validation.


_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _AppliesTo(BaseModel):
    """``applies_to``: filters and triggers; a missing or empty entry means "any"."""

    model_config = ConfigDict(extra="forbid", strict=True)
    roles: list[Literal[ROLES]] | None = None  # type: ignore[valid-type]
    urgency: list[Literal[URGENCIES]] | None = None  # type: ignore[valid-type]
    topics: list[Literal[TOPICS]] | None = None  # type: ignore[valid-type]
    red_flags: list[Literal[tuple(RED_FLAGS)]] | None = None  # type: ignore[valid-type]
    minor: bool | None = None
    non_dutch: bool | None = None


class _CardFile(BaseModel):
    """A card file: its front matter fields and the body below them. Strict: YAML's types as
    written ("5" is no priority, "yes" is no boolean)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: _Text
    source: _Text
    id: Annotated[str, StringConstraints(pattern=_SLUG)]
    priority: int = 0
    pinned: bool = False
    body: _Text
    applies_to: _AppliesTo | None = None


_EXPECTED = {"applies_to": sorted(_AppliesTo.model_fields),
             "": sorted(set(_CardFile.model_fields) - {"body"})}
_ALLOWED: dict[str, Iterable[str]] = {"roles": ROLES, "urgency": URGENCIES, "topics": TOPICS, "red_flags": RED_FLAGS}


def _problem(name: str, error: ErrorDetails) -> str:
    """'file: field: what is wrong' for one pydantic error (list positions left out of the field)."""
    loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
    field, kind, value = ".".join(loc), error["type"], error.get("input")
    if kind == "missing":
        message = "missing"
    elif kind == "extra_forbidden":
        message = f"unknown field (expected one of {_EXPECTED[loc[0] if len(loc) > 1 else '']})"
    elif kind == "literal_error":
        message = f"unknown value {value!r} (expected one of {list(_ALLOWED[loc[-1]])})"
    elif field == "body":
        message = "empty (the guidance text below the front matter is missing)"
    elif kind == "model_type":
        message = f"must be a mapping, got {type(value).__name__}"
    elif field == "id" and kind == "string_pattern_mismatch":
        message = f"{value!r} is not a slug (lowercase letters, digits and single hyphens)"
    else:
        message = f"{error['msg'][:1].lower()}{error['msg'][1:]}, got {value!r}"
    return f"{name}: {field}: {message}"


def _parse(path: Path) -> tuple[Card | None, list[str]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{name}: file: cannot read ({error})"]
    handler = YAMLHandler()
    if not handler.detect(text):
        return None, [f"{name}: front matter: missing (the file must start with a '---' line)"]
    try:
        raw_meta, body = handler.split(text)
        meta = yaml.safe_load(raw_meta)
    except (ValueError, yaml.YAMLError) as error:
        detail = " ".join(str(error).replace('in "<unicode string>", ', "").split())
        return None, [f"{name}: front matter: invalid YAML ({detail})"]
    if not isinstance(meta, dict):
        return None, [f"{name}: front matter: must be a mapping of fields, got {type(meta).__name__}"]
    if "body" in meta:  # the body is the text below the front matter, never a field
        return None, [f"{name}: body: unknown field (expected one of {_EXPECTED['']})"]
    try:
        card = _CardFile.model_validate({**meta, "body": body})
    except ValidationError as error:
        # Unknown fields first, then the fields in the order a card is written.
        errors = sorted(error.errors(), key=lambda e: (e["loc"][0] == "applies_to", e["type"] != "extra_forbidden"))
        return None, [_problem(name, e) for e in errors]
    applies = card.applies_to or _AppliesTo()
    return Card(id=card.id, title=card.title, body=card.body, source=card.source, roles=tuple(applies.roles or ()),
                urgency=tuple(applies.urgency or ()), topics=tuple(applies.topics or ()), minor=applies.minor,
                red_flags=tuple(applies.red_flags or ()), priority=card.priority, path=path, pinned=card.pinned,
                non_dutch=applies.non_dutch), []


# ---------------------------------------------------------------------------------------------
# Selection.


@dataclass(frozen=True)
class _Facts:
    """What the prediction says, validated."""

    role: str | None
    minor: bool | None
    urgency: str | None
    topics: tuple[str, ...]
    red_flags: tuple[str, ...]
    language: str | None

    @classmethod
    def of(cls, prediction: Mapping) -> _Facts:
        role, urgency = prediction.get("role"), prediction.get("urgency")
        topics = tuple(prediction.get("topics") or ())
        cues = tuple(dict.fromkeys(f["cue"] if isinstance(f, Mapping) else f
                                   for f in prediction.get("red_flags") or ()))
        problems = []
        if role is not None and role not in ROLES:
            problems.append(f"role {role!r} (expected one of {ROLES})")
        if urgency is not None and urgency not in URGENCIES:
            problems.append(f"urgency {urgency!r} (expected one of {URGENCIES})")
        problems += [f"topic {t!r}" for t in topics if t not in TOPICS]
        problems += [f"red flag {c!r}" for c in cues if c not in RED_FLAGS]
        if problems:
            raise ValueError("unknown prediction values: " + ", ".join(problems))
        minor = prediction.get("minor")
        return cls(role, None if minor is None else bool(minor), urgency, topics, cues, prediction.get("language"))


def _match(card: Card, facts: _Facts) -> _Match | None:
    """Score and Dutch reasons if the card applies to the prediction, else None."""
    if card.roles and facts.role not in card.roles:
        return None
    if card.urgency and facts.urgency not in card.urgency:
        return None
    if card.minor is not None and facts.minor is not card.minor:
        return None
    non_dutch = facts.language is not None and facts.language != "nl"
    if card.non_dutch is not None and non_dutch is not card.non_dutch:
        return None
    flags = [c for c in facts.red_flags if c in card.red_flags]
    topics = [t for t in facts.topics if t in card.topics]
    if (card.red_flags or card.topics) and not (flags or topics):
        return None

    score, reasons = card.priority, []
    if flags:
        score += SCORE_RED_FLAG + SCORE_EXTRA_FLAG * (len(flags) - 1)
        reasons.append(f"{'rode vlag' if len(flags) == 1 else 'rode vlaggen'}: "
                       + ", ".join(RED_FLAGS[c] for c in flags))
    if card.urgency:
        score += SCORE_ACUTE if facts.urgency == "acute" else SCORE_URGENCY
        reasons.append(f"urgentie: {URGENCY_NL[facts.urgency]}")
    if card.roles:
        score += SCORE_ROLE
        reasons.append(f"rol: {ROLE_NL[facts.role]}")
    if card.minor is True:
        score += SCORE_MINOR
        reasons.append("minderjarig")
    elif card.minor is False:
        score += SCORE_ADULT
        reasons.append("volwassene")
    if card.non_dutch:
        score += SCORE_NON_DUTCH
        reasons.append(f"anderstalig (taal: {facts.language})")
    if topics:
        score += SCORE_TOPIC * len(topics)
        reasons.append(f"{'onderwerp' if len(topics) == 1 else 'onderwerpen'}: "
                       + ", ".join(TOPIC_NL[t] for t in topics))
    return _Match(card, score, tuple(reasons))
