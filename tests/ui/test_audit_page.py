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
    expect(page.get_by_label(re.compile(r"^Urgentie \(model: acuut\)"))).to_have_value("acute")
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
    page.get_by_label("Notitie (optioneel)").fill("Meldcodevraag met letsel bij een kind: eerder oppakken")
    page.get_by_role("button", name="Beoordeling opslaan").click()
    expect(page.locator("#record-reviews li")).to_have_count(1)
    expect(page.locator("#record-reviews")).to_contain_text("u (deze sleutel)")
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
        page.get_by_role("button", name="Beoordeelde records exporteren (JSONL)").click()
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
    expect(page.get_by_label("API-sleutel")).to_be_hidden()
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
