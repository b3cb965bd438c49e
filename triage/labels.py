"""The label scheme (see docs/annotation-guide.md). Orders matter: urgency is most urgent first."""

ROLES: tuple[str, ...] = ("victim", "bystander", "perpetrator", "professional", "unknown")
URGENCIES: tuple[str, ...] = ("acute", "high", "normal", "low")
TOPICS: tuple[str, ...] = (
    "physical",
    "psychological",
    "sexual",
    "neglect",
    "financial",
    "coercive_control",
    "stalking",
    "honour_related",
    "child_abuse",
    "elder_abuse",
    "exploitation",
    "digital",
)
HEADS: tuple[str, ...] = ("role", "minor", "urgency", "topics")

# Lower rank = more urgent.
URGENCY_RANK: dict[str, int] = {u: i for i, u in enumerate(URGENCIES)}


def more_urgent(a: str, b: str) -> str:
    """The more urgent of two urgency labels."""
    return a if URGENCY_RANK[a] <= URGENCY_RANK[b] else b


# Longest opener text accepted anywhere (CLI, API, training). Openers are the first messages of a
# chat; a longer text is almost certainly a pasted document, and spaCy cost grows with length.
MAX_TEXT_CHARS = 5000
