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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from frontmatter.default_handlers import YAMLHandler

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

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TOP_KEYS = {"id", "title", "source", "priority", "pinned", "applies_to"}
_LIST_KEYS: dict[str, Iterable[str]] = {"roles": ROLES, "urgency": URGENCIES, "topics": TOPICS,
                                        "red_flags": RED_FLAGS}
_BOOL_KEYS = ("minor", "non_dutch")
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

    problems: list[str] = []

    def problem(field: str, message: str) -> None:
        problems.append(f"{name}: {field}: {message}")

    for key in sorted(set(meta) - _TOP_KEYS, key=str):
        problem(str(key), f"unknown field (expected one of {sorted(_TOP_KEYS)})")
    for key in ("id", "title", "source"):
        value = meta.get(key)
        if value is None:
            problem(key, "missing")
        elif not isinstance(value, str) or not value.strip():
            problem(key, f"must be a non-empty string, got {value!r}")
    card_id = meta.get("id")
    if isinstance(card_id, str) and card_id and not _SLUG.match(card_id):
        problem("id", f"{card_id!r} is not a slug (lowercase letters, digits and single hyphens)")
    priority = meta.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        problem("priority", f"must be an integer, got {priority!r}")
    pinned = meta.get("pinned", False)
    if not isinstance(pinned, bool):
        problem("pinned", f"must be true or false, got {pinned!r}")
    if not body.strip():
        problem("body", "empty (the guidance text below the front matter is missing)")

    applies = meta.get("applies_to") or {}
    lists: dict[str, tuple[str, ...]] = {key: () for key in _LIST_KEYS}
    flags: dict[str, bool | None] = {key: None for key in _BOOL_KEYS}
    if not isinstance(applies, dict):
        problem("applies_to", f"must be a mapping, got {type(applies).__name__}")
        applies = {}
    for key in sorted(set(applies) - set(_LIST_KEYS) - set(_BOOL_KEYS), key=str):
        problem(f"applies_to.{key}", f"unknown field (expected one of {sorted([*_LIST_KEYS, *_BOOL_KEYS])})")
    for key, allowed in _LIST_KEYS.items():
        values = applies.get(key) or []
        if not isinstance(values, list):
            problem(f"applies_to.{key}", f"must be a list, got {values!r}")
            continue
        for value in values:
            if value not in allowed:
                problem(f"applies_to.{key}", f"unknown value {value!r} (expected one of {list(allowed)})")
        lists[key] = tuple(v for v in values if v in allowed)
    for key in _BOOL_KEYS:
        value = applies.get(key)
        if value is not None and not isinstance(value, bool):
            problem(f"applies_to.{key}", f"must be true, false or null, got {value!r}")
        flags[key] = value if isinstance(value, bool) else None

    if problems:
        return None, problems
    card = Card(id=card_id, title=meta["title"].strip(), body=body.strip(), source=meta["source"].strip(),
                roles=lists["roles"], urgency=lists["urgency"], topics=lists["topics"], minor=flags["minor"],
                red_flags=lists["red_flags"], priority=priority, path=path, pinned=pinned,
                non_dutch=flags["non_dutch"])
    return card, []


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
