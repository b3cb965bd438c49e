"""The per-region simulation (triage/region_sim.py): the helpline's arrivals spread over the 26
regions by population, with and without overflow, on fixed seeds."""

from __future__ import annotations

import random
import statistics

import pytest

from triage.queue_sim import SimConfig, generate_chats, percentile
from triage.region_sim import RegionSimConfig, default_staffing, simulate, table
from triage.regions import default_regions

SEEDS = (1, 2)
WEEKS = 8


@pytest.fixture(scope="module")
def sim():
    result = simulate(RegionSimConfig(weeks=WEEKS, seeds=SEEDS))
    print("\n" + table(result))
    return result


def test_arrivals_are_queue_sims_spread_by_population(sim):
    regions = default_regions()
    for seed in SEEDS:
        national = [c for day in generate_chats(SimConfig(weeks=WEEKS, seed=seed), random.Random(seed)) for c in day]
        mine = [c.chat for c in sim.chats if c.chat.item.chat_id.startswith(f"s{seed}-")]
        assert [(c.arrival, c.service, c.item.urgency) for c in mine] == \
               [(c.arrival, c.service, c.item.urgency) for c in national]
        assert 350 <= len(mine) / WEEKS <= 425
    counts = {r.code: len(sim.waits_by("regional", r.code)) for r in regions}
    assert all(counts.values())
    assert counts["utrecht"] > 3 * counts["gooi-vechtstreek"]  # 1.4 million inhabitants against 0.26
    assert sim.staffing == default_staffing(regions) and sum(sim.staffing.values()) == 30
    # Every chat is served once in each regime.
    assert all(len(sim.waits[regime]) == len(sim.chats) for regime in ("regional", "overflow"))


def test_deterministic():
    config = RegionSimConfig(weeks=1, seeds=(7,))
    assert simulate(config).waits == simulate(config).waits


@pytest.mark.parametrize("urgency", ["acute", "high"])
def test_overflow_lowers_the_worst_regions_waiting(sim, urgency):
    (_, without), (_, with_) = sim.worst_region("regional", urgency), sim.worst_region("overflow", urgency)
    assert without >= 10  # one advisor per region: a chat that arrives during a conversation waits
    assert with_ <= 0.5 * without


def test_with_spare_advisors_elsewhere_acute_and_high_wait_about_their_limit_at_most(sim):
    # Utilisation is low nationally, so an overflowed chat is picked up by an idle advisor of
    # another region as soon as it has waited longer than its limit (2 and 10 minutes; the
    # simulation looks again one second after the limit).
    assert sim.utilisation < 0.3
    second = 1 / 60
    assert percentile(sim.waits_by("overflow", urgency="acute"), 90) <= 2.0 + second + 1e-9
    assert percentile(sim.waits_by("overflow", urgency="high"), 90) <= 10.0 + second + 1e-9
    assert percentile(sim.waits_by("regional", urgency="acute"), 90) > 2.0


def test_acute_chats_during_a_regions_lunch_go_elsewhere_at_once(sim):
    # One-advisor regions have nobody signed in for half an hour (region_sim's docstring).
    order = list(sim.staffing)
    lunch = [c for c in sim.chats
             if sim.staffing[c.region] == 1 and c.chat.item.urgency == "acute"
             and 0 <= c.chat.arrival - (12 * 60 + 30 * (order.index(c.region) % 3)) < 30]
    assert len(lunch) >= 3
    without = [sim.waits["regional"][c.chat.item.chat_id] for c in lunch]
    with_ = [sim.waits["overflow"][c.chat.item.chat_id] for c in lunch]
    assert statistics.median(without) > 5
    assert max(with_) < 0.5  # the no-advisor trigger: visible to every region on arrival


def test_table_lists_every_region(sim):
    text = table(sim)
    for region in default_regions():
        assert f"\n{region.code} " in text
    assert "worst region for acute (p90)" in text


def test_staffing_is_validated():
    with pytest.raises(ValueError, match="advisors.atlantis: unknown region code"):
        simulate(RegionSimConfig(weeks=1, seeds=(1,), advisors={**default_staffing(default_regions()), "atlantis": 1}))
    with pytest.raises(ValueError, match="advisors.zeeland: must be at least 1, got 0"):
        simulate(RegionSimConfig(weeks=1, seeds=(1,), advisors={**default_staffing(default_regions()), "zeeland": 0}))
