"""The reviewer page (/ui/audit) in headless Chromium: the filterable list, one record with the
words behind each decision, the scores and red flags, a review, and the statistics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from service.helpers import audit_record_id
from ui.a11y import accessibility_problems
from ui.conftest import shot
from ui.test_queue_page import ACUTE, LOW, NORMAL

pytestmark = pytest.mark.slow

PERSONAL = "Mijn naam is Sanne de Vries en mijn vriend Mark heeft me gisteren gewurgd. Bel me op 0612345678"


def shown_text(locator) -> str:
    """The text as a sighted reader sees it (without the notes for screen readers)."""
    return locator.evaluate("""node => { const copy = node.cloneNode(true);
        copy.querySelectorAll('.visually-hidden').forEach(n => n.remove()); return copy.textContent; }""")


def record_id(api, chat_id: str) -> int:
    items = api.call("GET", "/v1/audit/predictions", "reviewer", params={"chat_id": chat_id}).json()["items"]
    assert items, f"no audit record for chat {chat_id}"
    return items[0]["id"]


def choose_model_labels(page, record: dict, skip=()) -> None:
    """Agree with the model explicitly on every head of the review form (except those in skip)."""
    form = page.locator("#review-form")
    for head in ("urgency", "role", "minor"):
        if head not in skip:
            form.locator(f"#rv-{head}").select_option(str(record[head]).lower())
    if "topics" in skip:
        return
    if record["topics"]:
        for topic in record["topics"]:
            form.locator(f"#rv-topics input[value='{topic}']").check()
    else:
        form.get_by_label("geen van deze onderwerpen").check()


def test_list_filters_and_record_view(page, sign_in, api):
    api.chat("au-acute", ACUTE, minutes_ago=1)
    api.chat("au-normal", NORMAL, minutes_ago=2)
    triage = api.call("POST", "/v1/triage", "queue", json={"text": PERSONAL})
    assert triage.status_code == 200
    audit_record_id(api.http, triage, api.headers("reviewer"))  # written just after the answer
    acute_id = record_id(api, "au-acute")

    sign_in(page, "reviewer", "/ui/audit")
    expect(page.locator("#view-list")).to_be_visible()
    total = api.call("GET", "/v1/audit/predictions", "reviewer").json()["total"]
    expect(page.locator("#list-count")).to_contain_text(f"van {total}")
    expect(page.locator(f"#records-body tr[data-record-id='{acute_id}']")).to_be_visible()
    # the text in the list is the redacted text: no names or phone numbers
    expect(page.locator("#records-body")).not_to_contain_text("Sanne")
    expect(page.locator("#records-body")).not_to_contain_text("0612345678")
    shot(page, "20-audit-list")

    # filter: only acute predictions
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Urgentie").select_option(label="acuut")
    filters.get_by_role("button", name="Filteren").click()
    acute_total = api.call("GET", "/v1/audit/predictions", "reviewer", params={"urgency": "acute"}).json()["total"]
    expect(page.locator("#list-count")).to_contain_text(f"van {acute_total}")
    assert "urgency=acute" in page.url
    urgencies = page.locator("#records-body tr td:nth-child(3) .badge:first-child").all_inner_texts()
    assert urgencies and set(urgencies) == {"acuut"}
    shot(page, "21-audit-list-filtered")

    # one record: text with the words behind the decisions, scores as bars, red flags
    page.get_by_role("link", name=f"Voorspelling {acute_id} bekijken").click()
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{acute_id}")
    expect(page.locator("#record-title")).to_be_focused()
    text = page.locator("#record-text")
    expect(text.locator("mark.flag").first).to_be_visible()
    record = api.call("GET", f"/v1/audit/predictions/{acute_id}", "reviewer").json()
    assert shown_text(text) == record["text"]
    assert "mes" in text.locator("mark.flag").all_inner_texts()
    # screen readers hear what each mark stands for
    assert "(rode vlag: wapen" in text.text_content()
    # the words behind each decision: lemma and character n-grams where they occur, linguistic
    # cues through the model's word lists ("mijn man" for cue__poss1=partner), red-flag cues
    mappable = ("word__", "lemma__", "char__", "cue__poss1=", "cue__harm", "cue__time=", "cue__flag")
    tags = {tag for group in re.findall(r"\(([^()]*)\)", text.text_content()) for tag in group.split(", ")}
    for head, head_nl in (("urgency", "urgentie"), ("role", "rol"), ("minor", "minderjarig")):
        if any(f["feature"].startswith(mappable) for f in record["explanation"][head]):
            assert head_nl in tags, f"no words highlighted for {head}: {tags}"
    assert text.locator("mark.w-role, mark.w-urgency, mark.w-minor").count() > 0
    expect(page.locator("#record-heads .head-box")).to_have_count(4)
    expect(page.locator("#record-heads [data-head='urgency'] .bars li.chosen .bar-label")).to_contain_text("acuut")
    expect(page.locator("#record-flags li")).to_have_count(len(record["prediction"]["red_flags"]))
    # the review form preselects nothing: agreeing with the model is a choice too
    expect(page.get_by_label(re.compile(r"^Urgentie \(model: acuut\)"))).to_have_value("")
    shot(page, "22-audit-record")

    # unticking "rode vlaggen" removes their marks; the other words stay
    page.get_by_label("rode vlaggen").uncheck()
    expect(text.locator("mark.flag")).to_have_count(0)
    page.get_by_label("rode vlaggen").check()

    # the record of the opener with personal data shows placeholders
    page.goto(page.url.split("#")[0] + "#lijst")
    personal_id = api.call("GET", "/v1/audit/predictions", "reviewer",
                           params={"source": "triage", "limit": 1}).json()["items"][0]["id"]
    page.get_by_role("link", name=f"Voorspelling {personal_id} bekijken").click()
    expect(text).to_contain_text("[")
    expect(text).not_to_contain_text("Sanne")
    expect(text).not_to_contain_text("0612345678")


def test_review_is_saved_and_shows_in_the_statistics(page, sign_in, api):
    api.chat("rv-low", LOW, minutes_ago=3)
    rid = record_id(api, "rv-low")
    record = api.call("GET", f"/v1/audit/predictions/{rid}", "reviewer").json()
    before = api.call("GET", "/v1/audit/stats", "reviewer").json()

    sign_in(page, "reviewer", f"/ui/audit#record/{rid}")
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    expect(page.locator("#record-gold")).to_have_text("Nog niet beoordeeld.")
    # the reviewer finds the urgency too low and keeps the rest
    other = "normal" if record["urgency"] != "normal" else "high"
    page.get_by_label(re.compile(r"^Urgentie \(model: ")).select_option(other)
    choose_model_labels(page, record, skip=("urgency",))
    page.get_by_label("Notitie (optioneel)").fill("Meldcodevraag met letsel bij een kind: eerder oppakken")
    page.get_by_role("button", name="Beoordeling opslaan").click()
    expect(page.locator("#record-reviews li")).to_have_count(1)
    expect(page.locator("#record-reviews")).to_contain_text("u (deze toegangscode)")
    other_nl = "normaal" if other == "normal" else "hoog"
    expect(page.locator("#record-reviews")).to_contain_text(f"urgentie → {other_nl}")
    expect(page.locator("#record-gold")).to_contain_text("Vastgesteld na 1 beoordeling")
    expect(page.locator("#rv-info")).to_contain_text("al beoordeeld")
    page.locator("#record-reviews").scroll_into_view_if_needed()
    shot(page, "23-audit-review-saved")

    saved = api.call("GET", f"/v1/audit/predictions/{rid}", "reviewer").json()
    assert saved["review_count"] == 1 and saved["gold"]["urgency"] == other
    assert saved["reviews"][0]["urgency_ok"] is False and saved["reviews"][0]["role_ok"] is True

    # a second reviewer agrees with the model on everything (through the API)
    second = api.call("POST", f"/v1/audit/predictions/{rid}/reviews", "reviewer2",
                      json={"role_ok": True, "minor_ok": True, "urgency_ok": True})
    assert second.status_code == 201, second.text

    page.get_by_role("link", name="Statistieken").click()
    expect(page.locator("#stats-title")).to_be_focused()
    after = api.call("GET", "/v1/audit/stats", "reviewer").json()
    assert after["reviews"]["reviews"] == before["reviews"]["reviews"] + 2
    tiles = page.locator("#stat-tiles")
    expect(tiles.locator(".tile").filter(has_text="beoordelingen")).to_contain_text(str(after["reviews"]["reviews"]))
    expect(tiles.locator(".tile").filter(has_text="vastgestelde")).to_contain_text(
        str(after["reviews"]["records_resolved"]))
    # the plots: labels per week, agreement, accuracy per model version (each with its numbers)
    for chart in ("chart-labels", "chart-attention", "chart-agreement", "chart-accuracy"):
        expect(page.locator(f"#{chart} svg rect").first).to_be_attached()
    expect(page.locator("#chart-agreement")).to_contain_text("twee of meer beoordelingen")
    accuracy = page.locator("#chart-accuracy")
    version = record["model_version"]
    expect(accuracy).to_contain_text(f"{version}: {after['accuracy'][version]['reviewed']} beoordeeld")
    shot(page, "24-audit-stats")
    accuracy.get_by_text("Toon de cijfers als tabel").click()
    expected = after["accuracy"][version]["urgency"]["accuracy"]
    expect(accuracy.locator("table")).to_contain_text(f"{round(expected * 100)}%")
    accuracy.scroll_into_view_if_needed()
    shot(page, "25-audit-stats-plots")

    # the label plot can show another head
    page.get_by_label("Labels in de grafiek").select_option(label="rol")
    page.get_by_role("button", name="Tonen").click()
    expect(page.locator("#chart-labels figcaption")).to_have_text("Labels per week: rol")

    # the reviewed records with their gold labels can be exported as training JSONL
    page.get_by_role("link", name="Voorspellingen").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Beoordelingen downloaden").click()
    lines = [json.loads(line) for line in Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
    exported = next(line for line in lines if line["audit_id"] == rid)
    assert exported["urgency"] == other and download.value.suggested_filename.endswith(".jsonl")


def test_audit_page_is_accessible(page, sign_in, api):
    api.chat("ax-acute", ACUTE)
    rid = record_id(api, "ax-acute")
    sign_in(page, "reviewer", "/ui/audit")
    expect(page.locator("#records-body tr").first).to_be_visible()
    assert accessibility_problems(page) == []
    page.get_by_role("link", name=f"Voorspelling {rid} bekijken").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    assert accessibility_problems(page) == []
    page.get_by_role("link", name="Statistieken").click()
    expect(page.locator("#chart-labels")).to_be_visible()
    assert accessibility_problems(page) == []


def test_admin_may_use_both_pages(page, sign_in, ui_server, api):
    sign_in(page, "admin", "/ui/audit")
    expect(page.locator("#view-list")).to_be_visible()
    expect(page.get_by_role("navigation", name="Pagina's").get_by_role("link")).to_have_text(["Wachtrij", "Beoordelen"])
    page.get_by_role("link", name="Wachtrij").click()
    # the queue page records the advisor's name: it asks for it, not for the key again
    expect(page.locator("#signin")).to_be_visible()
    expect(page.get_by_label("Toegangscode")).to_be_hidden()
    expect(page.get_by_label("Uw naam")).to_be_focused()
    page.get_by_label("Uw naam").fill("Beheer")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.locator("#queue-title")).to_be_visible()


@pytest.mark.parametrize("role, links", [("reviewer", ["Beoordelen"]), ("advisor", ["Wachtrij"]), ("queue", [])])
def test_start_page_links_to_the_pages_of_the_role(page, sign_in, ui_server, role, links):
    page.goto(ui_server.url + "/")
    assert page.url.endswith("/ui/")
    sign_in(page, role, "/ui/")
    expect(page.locator("#home-links li:visible a")).to_have_text(links)
    if not links:
        expect(page.locator("#home-none")).to_be_visible()


# --- independent reviews, no lost work, safety figures, list search, Dutch ----------------------------

URGENCY_ORDER = ["acute", "high", "normal", "low"]
NL_URGENCY = {"acute": "acuut", "high": "hoog", "normal": "normaal", "low": "laag"}


def other_urgency(u: str) -> str:
    return {"acute": "high", "high": "acute", "normal": "low", "low": "normal"}[u]


def verdict(record: dict, labels: dict) -> dict:
    """A review body that gives `labels` for a record (missing heads: the model's label)."""
    body, corrected = {}, {}
    for head in ("role", "minor", "urgency"):
        ok = labels.get(head, record[head]) == record[head]
        body[f"{head}_ok"] = ok
        if not ok:
            corrected[head] = labels[head]
    if corrected:
        body["corrected"] = corrected
    return body


def test_review_is_independent_and_nothing_is_preselected(page, sign_in, api):
    api.chat("ind-1", NORMAL, minutes_ago=1)
    rid = record_id(api, "ind-1")
    record = api.call("GET", f"/v1/audit/predictions/{rid}", "admin").json()
    theirs = other_urgency(record["urgency"])
    # another reviewer already corrected the urgency
    r = api.call("POST", f"/v1/audit/predictions/{rid}/reviews", "reviewer2", json=verdict(record, {"urgency": theirs}))
    assert r.status_code == 201, r.text
    # the API hides that review from a reviewer who has not reviewed yet (the page cannot show it)
    hidden = api.call("GET", f"/v1/audit/predictions/{rid}", "reviewer").json()
    assert hidden["reviews_hidden"] is True and hidden["reviews"] == [] and hidden["gold"] is None

    sign_in(page, "reviewer", f"/ui/audit#record/{rid}")
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    expect(page.locator("#record-gold")).to_contain_text("zodra u uw eigen beoordeling hebt opgeslagen")
    expect(page.locator("#record-reviews li")).to_have_count(0)
    expect(page.locator("#record-tie")).to_be_hidden()
    expect(page.locator("#view-record")).not_to_contain_text(f"urgentie → {NL_URGENCY[theirs]}")
    # nothing preselected: every head starts at "Kies…", no topic ticked
    for head in ("urgency", "role", "minor"):
        select = page.locator(f"#rv-{head}")
        expect(select).to_have_value("")
        assert select.evaluate("s => s.options[s.selectedIndex].textContent") == "Kies…"
    assert page.locator("#rv-topics input:checked, #rv-no-topics:checked").count() == 0
    shot(page, "26-audit-review-independent")

    # saving without choices names every missing field, in Dutch, and stores nothing
    page.get_by_role("button", name="Beoordeling opslaan").click()
    error = page.locator("#rv-error")
    expect(error).to_have_text("Kies nog een antwoord bij ‘Urgentie’, ‘Rol van de schrijver’, ‘Minderjarig’ en "
                               "‘Onderwerpen’. Bent u het eens met het model, kies dan het antwoord van het model.")
    expect(page.locator("#rv-urgency")).to_be_focused()
    expect(page.locator("#rv-urgency")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rv-urgency")).to_have_attribute("aria-describedby", "rv-hint rv-error")
    shot(page, "27-audit-review-missing-choices")
    # one choice made: the error names only the rest
    page.locator("#rv-urgency").select_option(record["urgency"])
    page.get_by_role("button", name="Beoordeling opslaan").click()
    expect(error).to_contain_text("Kies nog een antwoord bij ‘Rol van de schrijver’, ‘Minderjarig’ en ‘Onderwerpen’.")
    expect(page.locator("#rv-role")).to_be_focused()
    assert api.call("GET", f"/v1/audit/predictions/{rid}", "admin").json()["review_count"] == 1

    # agreeing with the model everywhere, explicitly: the urgency then ties with the other reviewer
    choose_model_labels(page, record, skip=("urgency",))
    page.get_by_role("button", name="Beoordeling opslaan").click()
    expect(page.locator("#record-reviews li")).to_have_count(2)
    expect(error).to_have_text("")
    expect(page.locator("#record-reviews")).to_contain_text(f"urgentie → {NL_URGENCY[theirs]}")
    # the other reviewer is named in words, not by the key's technical id
    expect(page.locator("#record-reviews")).to_contain_text("beoordelaar A")
    expect(page.locator("#record-reviews")).not_to_contain_text("key-")
    more_urgent = min(record["urgency"], theirs, key=URGENCY_ORDER.index)
    expect(page.locator("#record-gold")).to_contain_text(f"Vastgesteld na 2 beoordelingen: {NL_URGENCY[more_urgent]}")
    tie = page.locator("#record-tie")
    expect(tie).to_be_visible()
    expect(tie).to_have_text(f"Gelijke stand over de urgentie: de urgentere waarde telt ({NL_URGENCY[more_urgent]}).")
    shot(page, "28-audit-review-tie")
    saved = api.call("GET", f"/v1/audit/predictions/{rid}", "reviewer").json()
    mine = [v for v in saved["reviews"] if v["reviewer_name"] != "reviewer2" and v["urgency_ok"]]
    assert saved["gold"]["urgency"] == more_urgent and saved["gold"]["tie_broken"] == ["urgency"]
    assert len(mine) == 1 and mine[0]["role_ok"] and mine[0]["minor_ok"] and mine[0]["topics_ok"]


def test_admin_sees_other_reviews_without_reviewing(page, sign_in, api):
    api.chat("ind-admin", LOW, minutes_ago=1)
    rid = record_id(api, "ind-admin")
    record = api.call("GET", f"/v1/audit/predictions/{rid}", "admin").json()
    r = api.call("POST", f"/v1/audit/predictions/{rid}/reviews", "reviewer2", json=verdict(record, {}))
    assert r.status_code == 201
    sign_in(page, "admin", f"/ui/audit#record/{rid}")
    expect(page.locator("#record-reviews li")).to_have_count(1)
    expect(page.locator("#record-gold")).to_contain_text("Vastgesteld na 1 beoordeling")


def test_unsaved_review_asks_before_leaving(page, sign_in, api):
    api.chat("lost-1", NORMAL, minutes_ago=2)
    api.chat("lost-2", LOW, minutes_ago=1)
    rid = record_id(api, "lost-1")
    dialogs: list[tuple[str, str]] = []
    answer = {"accept": False}

    def on_dialog(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, "reviewer", "/ui/audit")
    page.get_by_role("link", name=f"Voorspelling {rid} bekijken").click()
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    # an untouched form: leaving asks nothing
    page.get_by_role("link", name="Statistieken").click()
    expect(page.locator("#stats-title")).to_be_visible()
    page.go_back()
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    assert dialogs == []

    # a half-filled form: "Volgende zonder beoordeling" asks; "Annuleren" keeps the record and the choice
    page.locator("#rv-urgency").select_option("acute")
    page.get_by_role("button", name="Volgende zonder beoordeling").click()
    expect(page.locator("#rv-urgency")).to_have_value("acute")
    assert [t for t, _ in dialogs] == ["confirm"]
    assert "Uw beoordeling is nog niet opgeslagen" in dialogs[0][1]
    assert page.url.endswith(f"#record/{rid}")
    # a link to another view asks as well; staying keeps the record
    page.get_by_role("link", name="Statistieken").click()
    expect(page.locator("#view-record")).to_be_visible()
    assert len(dialogs) == 2 and dialogs[1][0] == "confirm"
    assert page.url.endswith(f"#record/{rid}") and page.locator("#view-stats").is_hidden()
    # the browser's back button (to the list) too; staying puts the record's address back
    page.go_back()
    page.wait_for_function("() => window.location.hash.startsWith('#record/')")
    expect(page.locator("#view-record")).to_be_visible()
    assert len(dialogs) == 3 and page.locator("#view-list").is_hidden()
    expect(page.locator("#rv-urgency")).to_have_value("acute")
    # closing or reloading the tab: the page asks through beforeunload
    prevented = page.evaluate("""() => { const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e); return e.defaultPrevented; }""")
    assert prevented is True
    # "OK" leaves for the next record without a review, without asking twice
    answer["accept"] = True
    page.get_by_role("button", name="Volgende zonder beoordeling").click()
    expect(page.locator("#record-title")).not_to_have_text(f"Voorspelling #{rid}")
    assert len(dialogs) == 4
    expect(page.locator("#rv-urgency")).to_have_value("")
    # the new record's form is untouched: nothing to lose, nothing asked
    clean = page.evaluate("""() => { const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e); return e.defaultPrevented; }""")
    assert clean is False
    page.get_by_role("link", name="Voorspellingen").click()
    expect(page.locator("#view-list")).to_be_visible()
    assert len(dialogs) == 4

    # the real dialog of the browser on closing a tab with a half-filled review
    page.get_by_role("link", name=f"Voorspelling {rid} bekijken").click()
    # the record arrives asynchronously and resets the form: fill it only once it is shown
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    page.locator("#rv-note").fill("half af")
    answer["accept"] = False
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    assert dialogs[-1][0] == "beforeunload"


def test_list_row_click_and_chat_id_search(page, sign_in, api):
    api.chat("zoek-77", LOW, minutes_ago=1)
    api.chat("zoek-78", NORMAL, minutes_ago=1)
    rid = record_id(api, "zoek-77")
    sign_in(page, "reviewer", "/ui/audit")
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Chatnummer").fill(" zoek-77 ")
    filters.get_by_role("button", name="Filteren").click()
    expect(page.locator("#list-count")).to_have_text("1 van 1 voorspelling")
    assert "chat_id=zoek-77" in page.url
    rows = page.locator("#records-body tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("zoek-77")
    shot(page, "29-audit-list-chat-search")
    # a click anywhere on the row (here: on the text) opens the record
    rows.first.locator("td.col-text").click()
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    assert page.url.endswith(f"#record/{rid}")
    # the link in the row stays the keyboard's way in
    page.go_back()
    link = page.get_by_role("link", name=f"Voorspelling {rid} bekijken")
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{rid}")
    # a chat number that cannot exist: a Dutch message, no request
    page.goto(page.url.split("#")[0] + "#lijst?chat_id=fout%20nummer!")
    expect(page.locator("#list-error")).to_have_text(
        "Een chatnummer bestaat uit letters, cijfers en . _ : - (hoogstens 64 tekens).")
    expect(page.locator("#records-table")).to_be_hidden()


def test_topic_boxes_are_large_targets(page, sign_in, api):
    api.chat("big-1", LOW)
    rid = record_id(api, "big-1")
    sign_in(page, "reviewer", f"/ui/audit#record/{rid}")
    boxes = page.locator("#rv-topics input[type=checkbox], #rv-no-topics")
    assert boxes.count() >= 10
    for i in range(boxes.count()):
        size = boxes.nth(i).bounding_box()
        assert size["width"] >= 24 and size["height"] >= 24, size
    # the page's own style sheet is linked from this page only
    assert page.locator("link[rel=stylesheet][href*='audit.css']").count() == 1
    page.goto(page.url.split("/ui/")[0] + "/ui/queue")
    assert page.locator("link[rel=stylesheet][href*='audit.css']").count() == 0


def dutch_percent(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def test_statistics_show_safety_figures_and_confusion_matrices(page, sign_in, api):
    api.chat("safe-1", LOW, minutes_ago=1)
    rid = record_id(api, "safe-1")
    record = api.call("GET", f"/v1/audit/predictions/{rid}", "admin").json()
    # the reviewers find it acute: the model under-triaged it (unless the model said acute itself)
    r = api.call("POST", f"/v1/audit/predictions/{rid}/reviews", "reviewer2", json=verdict(record, {"urgency": "acute"}))
    assert r.status_code in (200, 201), r.text
    stats = api.call("GET", "/v1/audit/stats", "reviewer").json()
    under, acute = stats["under_triage"], stats["acute"]
    assert under["records"] >= 1 and acute["reviewed_acute"] >= 1

    sign_in(page, "reviewer", "/ui/audit#statistieken")
    table = page.locator("#safety-table")
    expect(table.locator("caption")).to_have_text(f"Veiligheidscijfers over {under['records']} beoordeelde "
                                                  f"{'voorspelling' if under['records'] == 1 else 'voorspellingen'}")
    assert table.locator("thead th[scope=col]").all_inner_texts() == ["Cijfer", "Waarde", "Aantal", "Wat het betekent"]
    assert table.locator("tbody th[scope=row]").all_inner_texts() == [
        "Te laag ingeschat (ondertriage)", "Acute chats herkend (gevoeligheid)", "Acuut terecht (precisie)"]
    cells = [table.locator("tbody tr").nth(i).locator("td") for i in range(3)]
    expect(cells[0].nth(0)).to_have_text(dutch_percent(under["rate"]))
    expect(cells[0].nth(1)).to_have_text(f"{under['under']} van {under['records']}")
    expect(cells[1].nth(0)).to_have_text(dutch_percent(acute["recall"]))
    expect(cells[1].nth(1)).to_have_text(f"{acute['both']} van {acute['reviewed_acute']}")
    expect(cells[2].nth(0)).to_have_text("–" if acute["precision"] is None else dutch_percent(acute["precision"]))
    assert "," in cells[0].nth(0).inner_text() and "." not in cells[0].nth(0).inner_text()

    version = record["model_version"]
    matrices = stats["confusion"][version]
    for head, head_nl in (("urgency", "Urgentie"), ("role", "Rol"), ("minor", "Minderjarig")):
        t = page.locator(f"table.confusion[data-head='{head}'][data-version='{version}']")
        expect(t.locator("caption")).to_contain_text(f"{head_nl}: beoordeeld tegenover model")
        m = matrices[head]
        assert t.locator("thead th[scope=col]").count() == len(m["labels"]) + 2
        assert t.locator("tbody th[scope=row]").count() == len(m["labels"]) + 1
        for i, row in enumerate(m["matrix"]):
            shown = t.locator("tbody tr").nth(i).locator("td").all_inner_texts()
            assert shown == [str(n) for n in row] + [str(sum(row))], (head, i, shown)
    urgency = page.locator(f"table.confusion[data-head='urgency'][data-version='{version}']")
    assert urgency.locator("thead th").all_inner_texts()[1:] == [
        "model: acuut", "model: hoog", "model: normaal", "model: laag", "totaal"]
    page.locator("#safety-title").scroll_into_view_if_needed()
    shot(page, "30-audit-stats-safety")
    # the kappa and every other figure with a decimal comma
    assert not re.search(r"\d\.\d", page.locator("#safety-figures").inner_text())
    assert not re.search(r"\d\.\d", page.locator("#chart-agreement .hint").inner_text())

    # the model-version filter narrows the figures: an unknown version has none
    page.goto(page.url.split("#")[0] + "#statistieken?model_version=geen-model")
    expect(page.locator("#safety-confusion")).to_contain_text("Nog geen beoordeelde voorspellingen")
    expect(page.locator("#s-model")).to_have_value("geen-model")
    expect(page.locator("#safety-table tbody tr").first.locator("td").first).to_have_text("–")
    page.locator("#s-model").select_option(version)
    page.get_by_role("button", name="Tonen").click()
    expect(page.locator("#safety-confusion .confusion-group h4")).to_have_text([f"Modelversie {version}"])
    assert "model_version=" in page.url
    assert accessibility_problems(page) == []


def test_page_text_is_dutch(page, sign_in, api):
    api.chat("nl-1", ACUTE, minutes_ago=1)
    english = api.call("POST", "/v1/triage", "queue", json={"text": "hello I need help, my husband hits me every day"})
    assert english.status_code == 200
    eid = audit_record_id(api.http, english, api.headers("reviewer"))
    en = api.call("GET", f"/v1/audit/predictions/{eid}", "admin").json()
    assert any("not Dutch (en)" in x for x in en["review_reasons"]), en["review_reasons"]  # precondition
    sign_in(page, "reviewer", "/ui/audit")
    expect(page.locator("#records-body tr").first).to_be_visible()
    visible = page.locator("main").inner_text()
    assert not re.search(r"\brecords?\b|JSONL|\bexport", visible, re.I), visible
    expect(page.get_by_role("button", name="Beoordelingen downloaden")).to_be_visible()

    page.goto(page.url.split("#")[0] + f"#record/{eid}")
    expect(page.locator("#record-title")).to_have_text(f"Voorspelling #{eid}")
    extra = page.locator("#record-extra")
    expect(extra).to_contain_text("Engels")
    expect(extra).to_contain_text("anderstalig (taal: Engels)")  # the guidance's reason, with the language named
    assert not re.search(r"\ben\)|\(en\b|taal: en\b", extra.inner_text()), extra.inner_text()
    weights = page.locator("#record-heads .drivers-list .hint").all_inner_texts()
    assert weights and all(re.fullmatch(r" ?\(gewicht -?\d+,\d\d\)", w) for w in weights), weights
    visible = page.locator("main").inner_text()
    assert not re.search(r"\brecords?\b|JSONL", visible, re.I)
    assert not re.search(r"\d\.\d", page.locator("#record-heads").inner_text())


def test_an_override_names_the_key_and_the_self_declared_name(page, sign_in, api):
    api.chat("ov-who", LOW, minutes_ago=2)
    r = api.call("PATCH", "/v1/chats/ov-who/triage", "advisor",
                 json={"urgency": "high", "reason": "letsel", "advisor": "Anouk"})
    assert r.status_code == 200, r.text
    rid = record_id(api, "ov-who")
    sign_in(page, "reviewer", f"/ui/audit#record/{rid}")
    expect(page.locator("#record-extra")).to_contain_text("door env:advisor#2 (opgegeven naam: Anouk)")
