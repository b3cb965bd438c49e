"""From scores and red flags to the labels an advisor sees.

Urgency is cost-sensitive: missing acute danger is the worst error this product can make, so
acute is chosen when its probability passes a threshold well below 0.5, and "at least high" when
acute and high together pass a second threshold. Both thresholds are tuned at training time on
out-of-fold predictions (training/tuning.py). Red flags then raise urgency to their floor; they
never lower it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from triage.labels import BINARY_HEADS, MULTICLASS_HEADS, URGENCY_RANK, more_urgent
from triage.red_flags import RedFlag


@dataclass(frozen=True)
class UrgencyPolicy:
    """acute if P(acute) >= acute_threshold; else at least high if P(acute) >= guard_threshold (a
    possible acute case never falls to normal or low) or P(acute) + P(high) >= high_threshold; else
    the more likely of normal and low."""

    acute_threshold: float = 0.3
    high_threshold: float = 0.4
    guard_threshold: float = 0.1

    def from_scores(self, scores: Mapping[str, float]) -> str:
        if scores["acute"] >= self.acute_threshold:
            return "acute"
        if scores["acute"] >= self.guard_threshold or scores["acute"] + scores["high"] >= self.high_threshold:
            return "high"
        return "normal" if scores["normal"] >= scores["low"] else "low"

    def decide(self, scores: Mapping[str, float], flags: Sequence[RedFlag],
               now_possible: bool = True) -> tuple[str, str, list[RedFlag]]:
        """(urgency, urgency from the model alone, the flags that raised it).

        now_possible=False (a Dutch message told entirely in the past, triage.cues.told_in_past): the
        scores alone cannot make it acute, which the guide keeps for danger now or within hours; they
        make it high at most. A red flag about now still raises it to acute."""
        model_urgency = self.from_scores(scores)
        if model_urgency == "acute" and not now_possible:
            model_urgency = "high"
        urgency = model_urgency
        raised_by: list[RedFlag] = []
        for flag in flags:
            if flag.floor and URGENCY_RANK[flag.floor] < URGENCY_RANK[urgency]:
                urgency = more_urgent(urgency, flag.floor)
        if urgency != model_urgency:
            raised_by = [f for f in flags if f.floor and URGENCY_RANK[f.floor] <= URGENCY_RANK[urgency]
                         and URGENCY_RANK[f.floor] < URGENCY_RANK[model_urgency]]
        return urgency, model_urgency, raised_by

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReviewPolicy:
    """When a prediction should be checked by a person."""

    min_confidence: float = 0.5
    min_margin: float = 0.1
    minor_band: tuple[float, float] = (0.35, 0.65)  # the uncertain band of every binary head

    def reasons_for(self, scores: Mapping[str, Mapping], language: str, raised: bool) -> list[str]:
        reasons: list[str] = []
        for head in MULTICLASS_HEADS:
            ranked = sorted(scores[head].values(), reverse=True)
            if ranked[0] < self.min_confidence:
                reasons.append(f"{head}: low confidence ({ranked[0]:.2f})")
            elif ranked[0] - ranked[1] < self.min_margin:
                reasons.append(f"{head}: top two scores within {self.min_margin:.2f}")
        for head in BINARY_HEADS:
            p_true = scores[head]["true"]
            if self.minor_band[0] <= p_true <= self.minor_band[1]:
                reasons.append(f"{head}: uncertain ({p_true:.2f})")
        if language != "nl":
            reasons.append(f"language: not Dutch ({language})")
        if raised:
            reasons.append("urgency: raised by red flags above the model's own estimate")
        return reasons
