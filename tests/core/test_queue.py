"""The advisor queue policy (triage/queue.py) and its simulation against FCFS (triage/queue_sim.py)."""

from __future__ import annotations

import random
import statistics
from datetime import datetime, timedelta, timezone

import pytest

from triage.queue import DEFAULT_POLICY, QueueItem, QueuePolicy, priority, rank
from triage.queue_sim import SimConfig, percentile, simulate, table

NOW = datetime(2025, 3, 3, 10, 30, tzinfo=timezone.utc)
D = DEFAULT_POLICY.max_head_start_minutes  # 85 min with the defaults


def item(chat_id: str, urgency: str, waited_min: float, minor: bool = False, review: bool = False) -> QueueItem:
    return QueueItem(chat_id, urgency, minor, NOW - timedelta(minutes=waited_min), review)


def order(items, now=NOW, policy=DEFAULT_POLICY) -> list[str]:
    return [r.item.chat_id for r in rank(items, now, policy)]


# ---------------------------------------------------------------------------------------------
# Unit tests.


def test_empty_queue():
    assert rank([], NOW) == []


def test_acute_always_first_whatever_the_others_waited():
    items = [item("low-old", "low", 600), item("high-minor", "high", 300, minor=True, review=True),
             item("acute-new", "acute", 0)]
    assert order(items)[0] == "acute-new"


def test_acute_among_acute_longest_waiting_first_minor_irrelevant():
    items = [item("a1", "acute", 2, minor=True), item("a2", "acute", 5), item("n", "normal", 50)]
    assert order(items) == ["a2", "a1", "n"]


def test_urgency_order_for_equal_waits():
    items = [item("l", "low", 5), item("n", "normal", 5), item("h", "high", 5), item("a", "acute", 5)]
    assert order(items) == ["a", "h", "n", "l"]


def test_minor_bonus_is_a_head_start_of_15_minutes():
    assert order([item("adult", "normal", 20), item("minor", "normal", 10, minor=True)]) == ["minor", "adult"]
    assert order([item("adult", "normal", 30), item("minor", "normal", 10, minor=True)]) == ["adult", "minor"]
    # A nudge within an urgency, not a jump over one.
    assert order([item("high", "high", 0), item("minor", "normal", 0, minor=True)]) == ["high", "minor"]


def test_review_bonus():
    assert order([item("sure", "normal", 15), item("unsure", "normal", 10, review=True)]) == ["unsure", "sure"]


@pytest.mark.parametrize("newcomer, overtake_after", [
    (item("new", "normal", 0), 30),
    (item("new", "high", 0), 60),
    (item("new", "high", 0, minor=True), 75),
    (item("new", "high", 0, minor=True, review=True), D),
])
def test_no_starvation_low_overtakes_a_new_chat_after_a_bounded_wait(newcomer, overtake_after):
    assert order([item("low", "low", overtake_after + 1), newcomer])[0] == "low"
    assert order([item("low", "low", overtake_after - 1), newcomer])[0] == "new"


def test_max_head_start_is_the_documented_85_minutes():
    assert D == 85
    assert QueuePolicy(aging_per_minute=2.0).max_head_start_minutes == 42.5


def test_ties_longer_waiting_first_then_chat_id():
    # Equal priority on paper: high after 10 min == normal after 40 min == 70.
    ranked = rank([item("h", "high", 10), item("n", "normal", 40)], NOW)
    assert ranked[0].priority == ranked[1].priority == 70
    assert [r.item.chat_id for r in ranked] == ["n", "h"]
    assert order([item("b", "low", 7), item("c", "low", 7), item("a", "low", 7)]) == ["a", "b", "c"]
    assert order([item("b", "acute", 7), item("a", "acute", 7)]) == ["a", "b"]


def test_deterministic_whatever_the_input_order():
    rng = random.Random(7)
    items = [item(f"c{i}", rng.choice(["acute", "high", "normal", "low"]), rng.choice([0, 5, 10, 40, 90]),
                  minor=rng.random() < 0.3, review=rng.random() < 0.3) for i in range(40)]
    expected = rank(items, NOW)
    for _ in range(20):
        rng.shuffle(items)
        assert rank(items, NOW) == expected


def test_order_of_waiting_chats_is_stable_over_time():
    # Everyone ages at the same rate, so chats already in the queue never swap places.
    rng = random.Random(3)
    items = [item(f"c{i}", rng.choice(["high", "normal", "low", "acute"]), rng.uniform(0, 120),
                  minor=rng.random() < 0.2) for i in range(30)]
    assert order(items) == order(items, now=NOW + timedelta(hours=3))


def test_ranked_fields():
    ranked = rank([item("n", "normal", 12, minor=True), item("a", "acute", 3)], NOW)
    assert [r.position for r in ranked] == [1, 2]
    assert ranked[1].waiting_seconds == 12 * 60
    assert ranked[1].priority == pytest.approx(30 + 15 + 12)
    assert ranked[1].priority == priority(ranked[1].item, NOW)


def test_reason_nl():
    ranked = rank([item("l", "low", 40), item("a", "acute", 3), item("h", "high", 12, minor=True)], NOW)
    by_id = {r.item.chat_id: r for r in ranked}
    assert by_id["a"].reason_nl == "Acuut, wacht 3 min."
    assert by_id["h"].reason_nl.startswith("Hoog, minderjarig, wacht 12 min.")
    assert "gaat voor 1 chat die langer wacht door hogere urgentie" in by_id["h"].reason_nl
    assert by_id["h"].reason_detail_nl.startswith("Prioriteit 87 = basis 60 + minderjarig 15 + wachttijd 12.")
    assert by_id["l"].reason_nl.startswith("Laag, wacht 40 min.")
    assert "Na 1 acute chat" in by_id["l"].reason_nl
    assert "prioriteit" not in by_id["l"].reason_nl.lower()  # the sentence, not the formula
    assert "Vanaf 85 min wachten gaat geen nieuwe niet-acute chat meer voor." in by_id["l"].reason_detail_nl


def test_acute_chats_order_by_severity_before_waiting_time():
    help_ = QueueItem("help", "acute", False, NOW - timedelta(minutes=9), severity=12, severity_nl="Model 60% zeker.")
    knife = QueueItem("knife", "acute", False, NOW - timedelta(minutes=1), severity=50, severity_nl="Nu: wapen.")
    alone = QueueItem("alone", "acute", True, NOW - timedelta(minutes=2), severity=47)
    same = QueueItem("same", "acute", False, NOW - timedelta(minutes=4), severity=50)
    high = QueueItem("high", "high", True, NOW - timedelta(hours=5), severity=80)  # severity never lifts non-acute
    ranked = rank([help_, knife, alone, same, high], NOW)
    assert [r.item.chat_id for r in ranked] == ["same", "knife", "alone", "help", "high"]
    assert ranked[0].reason_nl == "Acuut, de ernstigste van 4 acute chats; wacht 4 min."
    assert ranked[3].reason_nl == "Acuut, ernstigste eerst: 3 acute chats gaan voor, wacht 9 min."
    assert ranked[1].reason_detail_nl.startswith("Nu: wapen. Ernst 50.")


def test_future_timestamp_counts_as_no_wait():
    ranked = rank([item("skew", "normal", -2)], NOW)
    assert ranked[0].waiting_seconds == 0
    assert ranked[0].priority == 30


@pytest.mark.parametrize("bad, message", [
    ([QueueItem("x", "urgent", False, NOW)], "unknown urgency"),
    ([QueueItem("x", "low", False, NOW.replace(tzinfo=None))], "timezone-aware"),
    ([item("x", "low", 1), item("x", "high", 2)], "twice"),
])
def test_invalid_input(bad, message):
    with pytest.raises(ValueError, match=message):
        rank(bad, NOW)


def test_naive_now_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        rank([item("x", "low", 1)], NOW.replace(tzinfo=None))


def test_policy_validation():
    with pytest.raises(ValueError, match="aging_per_minute"):
        QueuePolicy(aging_per_minute=0)
    with pytest.raises(ValueError, match="base"):
        QueuePolicy(base={"high": 0.0, "normal": 30.0, "low": 0.0})
    with pytest.raises(ValueError, match="keys"):
        QueuePolicy(base={"high": 60.0, "normal": 30.0})


# ---------------------------------------------------------------------------------------------
# Simulation: 8 weeks of this helpline (assumptions in triage/queue_sim.py), same chats under FCFS
# and under the policy.


@pytest.fixture(scope="module")
def sim():
    result = simulate(SimConfig(weeks=8))
    print("\n" + table(result))
    return result


def stats(result, discipline: str) -> dict[str, tuple[float, float, float]]:
    return {u: (statistics.median(w), percentile(w, 90), max(w))
            for u, w in result.waits_by_urgency(discipline).items()}


def test_simulation_is_plausible_and_deterministic(sim):
    per_week = len(sim.chats) / sim.config.weeks
    assert 350 <= per_week <= 425
    assert 0.7 <= sim.utilisation <= 0.95
    assert all(9 * 60 <= c.arrival < 17 * 60 for c in sim.chats)
    assert simulate(SimConfig(weeks=1)).waits == simulate(SimConfig(weeks=1)).waits


def test_simulation_acute_much_faster_than_fcfs(sim):
    fcfs, policy = stats(sim, "fcfs"), stats(sim, "policy")
    assert policy["acute"][0] <= 0.5 * fcfs["acute"][0]  # median
    assert policy["acute"][1] <= 0.5 * fcfs["acute"][1]  # p90
    assert policy["high"][1] < fcfs["high"][1]


def test_simulation_wait_bounds(sim):
    """Bounds derived from the design, not fitted to the run.

    Acute: an acute chat waits only for the first advisor to come free (chats last at most 60
    min), because at 8% acute there are never more acute chats waiting than advisors.
    Non-acute: a chat is only overtaken by acute chats and by chats that arrived less than D =
    85 min after it. So it waits at most about as long as FCFS makes anyone wait, plus D.
    """
    fcfs, policy = stats(sim, "fcfs"), stats(sim, "policy")
    longest_chat = max(high for _, high, _ in sim.config.service_minutes.values())
    assert policy["acute"][2] <= longest_chat
    fcfs_max = max(m for _, _, m in fcfs.values())
    for urgency in ("high", "normal", "low"):
        assert policy[urgency][2] <= fcfs_max + D, urgency


def test_simulation_low_pays_a_bounded_price(sim):
    fcfs, policy = stats(sim, "fcfs"), stats(sim, "policy")
    assert policy["low"][1] <= 2.5 * fcfs["low"][1]
    assert policy["normal"][1] <= 1.5 * fcfs["normal"][1]


def test_rank_one_equals_the_entry_of_rank():
    """rank_one (one chat's view, on every chat write) gives exactly rank()'s entry for that chat:
    position, priority, wait and both Dutch reasons, for random queues with every kind of chat."""
    from triage.queue import rank_one

    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    rnd = random.Random(13)
    for _ in range(200):
        items = [QueueItem(f"c{i}", rnd.choice(["acute", "high", "normal", "low"]), rnd.random() < 0.3,
                           now - timedelta(seconds=rnd.choice([0, 30, 600, 1800, rnd.randint(0, 20_000)])),
                           rnd.random() < 0.3, rnd.choice([0.0, 5.0, 10.0]), rnd.choice(["", "Ernstig."]))
                 for i in range(rnd.randint(1, 40))]
        for entry in rank(items, now):
            assert rank_one(items, entry.item.chat_id, now) == entry
    assert rank_one(items, "not-waiting", now) is None


def _random_item(rnd: random.Random, chat_id: str, now: datetime) -> QueueItem:
    """Every kind of chat, with the arrivals that make ties and near-ties: equal arrivals, arrivals
    a head start apart (high 10 min == normal 40 min on paper) give or take a few microseconds
    (where the priority's rounding decides), and arrivals in the future (clock skew)."""
    base = now - timedelta(minutes=rnd.choice([0, 10, 40, 85, 120]))
    offset = rnd.choice([timedelta(0), timedelta(microseconds=rnd.randint(-90, 90)),
                         timedelta(minutes=rnd.choice([-30, -15, -10, 15, 30])),
                         timedelta(seconds=rnd.uniform(-20_000, 0)), timedelta(seconds=rnd.uniform(0, 30))])
    return QueueItem(chat_id, rnd.choice(["acute", "high", "normal", "low"]), rnd.random() < 0.3, base + offset,
                     rnd.random() < 0.3, rnd.choice([0.0, 5.0, 10.0]), rnd.choice(["", "Ernstig."]))


def test_queue_index_place_equals_the_full_ranking_as_chats_come_and_go():
    """QueueIndex keeps the order incrementally (every chat write answers from it); its entry for
    every waiting chat must be exactly rank()'s (position, priority, wait and both reasons), after
    any sequence of arrivals, departures and changes, at any later time."""
    from triage.queue import rank_one
    from triage.queue_index import QueueIndex

    rnd = random.Random(31)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    for trial in range(60):
        index, waiting, n = QueueIndex(), {}, 0
        for step in range(rnd.randint(1, 60)):
            if waiting and rnd.random() < 0.3:  # claimed, closed, left, or changed (a new version)
                chat_id = rnd.choice(sorted(waiting))
                index.discard(chat_id)
                del waiting[chat_id]
                if rnd.random() < 0.5:
                    changed = _random_item(rnd, chat_id, now)._replace(waiting_since=rnd.choice(
                        [now, now - timedelta(minutes=5)]))
                    index.add(changed)
                    waiting[chat_id] = changed
            else:
                n += 1
                new = _random_item(rnd, f"c{n:03d}", now)
                index.add(new)
                waiting[new.chat_id] = new
            when = now + timedelta(seconds=rnd.choice([0, 0.000001, 7, 600, 3600]))
            assert len(index) == len(waiting)
            assert sorted(i.chat_id for i in index.items()) == sorted(waiting)
            full = rank(list(waiting.values()), when)
            assert [index.place(r.item.chat_id, when) for r in full] == full, (trial, step)
        assert index.place("not-waiting", now) is None
        if waiting:
            some = next(iter(waiting))
            assert index.place(some, now) == rank_one(list(waiting.values()), some, now)


def test_queue_index_refuses_what_rank_refuses():
    from triage.queue_index import QueueIndex

    index = QueueIndex()
    index.add(QueueItem("a", "high", False, NOW))
    with pytest.raises(ValueError, match="'a' is in the queue twice"):
        index.add(QueueItem("a", "low", False, NOW))
    with pytest.raises(ValueError, match="unknown urgency 'urgent'"):
        index.add(QueueItem("b", "urgent", False, NOW))
    with pytest.raises(ValueError, match="waiting_since of chat 'c' must be timezone-aware"):
        index.add(QueueItem("c", "low", False, NOW.replace(tzinfo=None)))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        index.place("a", NOW.replace(tzinfo=None))
    assert len(index) == 1 and "b" not in index and "c" not in index
    index.discard("a")
    index.discard("a")  # already gone: nothing to do
    assert len(index) == 0
