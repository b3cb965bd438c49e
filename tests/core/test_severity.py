"""The severity score that orders acute chats among themselves (triage/severity.py)."""

from triage.severity import severity


def flag(cue, when="now", label=None):
    return {"cue": cue, "when": when, **({"label_nl": label} if label else {})}


def test_worst_flag_now_outranks_model_certainty_alone():
    knife_now = severity([flag("weapon", label="wapen")], 0.55, False)
    bare_help = severity([], 0.99, False)
    assert knife_now.score > bare_help.score
    assert knife_now.text_nl == "Nu: wapen; model 55% zeker van acuut."
    assert bare_help.text_nl == "Model 99% zeker van acuut."


def test_now_weighs_more_than_the_past_and_flags_add_up_with_a_damper():
    now = severity([flag("strangulation")], 0.5, False).score
    past = severity([flag("strangulation", "past")], 0.5, False).score
    assert now - past == 27  # 30 * (1.0 - 0.1)
    two = severity([flag("strangulation"), flag("serious_injury")], 0.5, False).score
    assert two == now + round(0.25 * 25)
    # Two mild flags never outweigh one life-threatening flag.
    mild = severity([flag("image_threat"), flag("hopelessness")], 0.5, False).score
    assert mild < now


def test_the_same_cue_twice_counts_once_at_its_worst_and_minor_adds():
    once = severity([flag("weapon", "past"), flag("weapon", "now")], 0.0, False)
    assert once.score == 30
    assert severity([flag("weapon")], 0.0, True).score == 35
    assert severity([], 0.2, True).text_nl == "Minderjarig; model 20% zeker van acuut."


def test_labels_and_unknown_cues():
    out = severity([flag("child_alone", "now"), flag("new_cue", "recent")], 1.0, False,
                   labels_nl={"child_alone": "kind alleen"})
    assert out.text_nl == "Nu: kind alleen; verder: new_cue; model 100% zeker van acuut."
    assert out.score == round(25 + 0.25 * 4 + 20)
