"""The advisor page (/ui/queue) in headless Chromium: sign-in, the live queue, the acute alert,
claiming with guidance and explanation, overriding, and keyboard use."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from service.helpers import KEYS
from ui.a11y import accessibility_problems
from ui.conftest import shot

pytestmark = pytest.mark.slow

ACUTE = "help mijn man heeft een mes en hij staat nu voor de deur, hij zegt dat hij me gaat vermoorden"
ACUTE_MINOR = "ik ben 13 en mijn stiefvader heeft me net gewurgd, ik zit op de wc opgesloten"
NORMAL = "hoi ik weet niet of ik hier goed ben, mijn buurvrouw schreeuwt vaak tegen haar kinderen"
LOW = "Ik ben leerkracht groep 6 en een leerling heeft blauwe plekken, hoe werkt de meldcode?"
HOSTILE = 'mijn ex stuurt me steeds berichten en ik word er gek van <img src=x onerror="window.pwned=1"> <b>vet</b>'

LIVE = 6_000  # the page polls every 2 s; allow for a slow machine


def rows(page):
    return page.locator("#queue-body tr")


def row_ids(page) -> list[str]:
    return rows(page).evaluate_all("rows => rows.map(r => r.dataset.chatId)")


def test_sign_in_with_a_key_kept_in_session_storage(page, sign_in, ui_server, api):
    page.goto(ui_server.url + "/ui/queue")
    signin = page.locator("#signin")
    expect(signin).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.get_by_role("heading", name="Inloggen: wachtrij")).to_be_visible()
    shot(page, "01-sign-in")

    page.get_by_label("Toegangscode").fill("dit-is-geen-geldige-sleutel-123456")
    page.get_by_label("Uw naam").fill("Anouk")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.locator("#signin-error")).to_have_text(re.compile("Deze toegangscode is niet geldig"))
    expect(page.locator("#app")).to_be_hidden()
    shot(page, "02-sign-in-wrong-key")

    page.get_by_label("Toegangscode").fill(KEYS["advisor"])
    page.get_by_role("button", name="Inloggen").click()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#session-who")).to_have_text("Anouk · adviseur")
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator("#queue-live-text")).to_contain_text("Live")
    # The key is kept in this tab's sessionStorage only, never in localStorage or a cookie.
    stored = page.evaluate("() => [sessionStorage.getItem('triage.key'), localStorage.length, document.cookie]")
    assert stored == [KEYS["advisor"], 0, ""]
    assert page.get_by_label("Toegangscode").input_value() == ""
    shot(page, "03-queue-empty")

    page.reload()  # still signed in: sessionStorage survives a reload of the tab
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#signin")).to_be_hidden()

    page.get_by_role("button", name="Uitloggen").click()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('triage.key')") is None


def test_queue_shows_order_badges_waiting_time_and_escaped_red_flags(page, sign_in, api):
    api.chat("q-low", LOW, minutes_ago=20)
    api.chat("q-normal", NORMAL, minutes_ago=5)
    hostile = api.chat("q-hostile", HOSTILE, minutes_ago=3)
    assert hostile["triage"]["urgency"] != "acute"
    minor = api.chat("q-acute-minor", ACUTE_MINOR, minutes_ago=1)
    assert minor["triage"]["urgency"] == "acute" and minor["triage"]["minor"] is True

    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(4)
    assert row_ids(page) == api.queue_ids(), "the page shows the queue in the API's order"
    first = rows(page).first
    assert first.get_attribute("data-chat-id") == "q-acute-minor"
    expect(first.locator(".badge-urgency-acute")).to_have_text("acuut")
    expect(first.locator(".badge-minor")).to_have_text("minderjarig")
    marks = first.locator("mark.flag")
    expect(marks.first).to_have_text("gewurgd")
    expect(first.locator(".chip-flag")).to_contain_text(["verwurging", "opgesloten"])
    expect(first.locator(".col-wait")).to_have_text(re.compile(r"^[12]:\d\d$"))
    low = rows(page).filter(has=page.locator("[data-chat-id='q-low']"))
    expect(low.locator(".col-wait")).to_have_text(re.compile(r"^(19|20):\d\d$"))
    # Chat text is untrusted: markup in it is shown as text and never runs.
    hostile = page.locator("#queue-body tr[data-chat-id='q-hostile'] .preview")
    expect(hostile).to_contain_text("<img src=x")
    assert page.locator("#queue-body img, #queue-body b").count() == 0
    assert page.evaluate("() => window.pwned") is None
    page.get_by_role("button", name="Gezien").click()
    shot(page, "04-queue")


def test_claim_opens_guidance_and_explanation(page, sign_in, api):
    created = api.chat("c-acute", ACUTE, minutes_ago=2)
    api.chat("c-normal", NORMAL, minutes_ago=6)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(2)

    page.get_by_role("button", name="Claimen: chat c-acute, acuut").click()
    detail = page.locator("#detail")
    expect(page.locator("#detail-title")).to_have_text("Chat c-acute")
    expect(page.locator("#detail-title")).to_be_focused()
    expect(page.locator("#detail-status")).to_contain_text("Geclaimd door env:advisor#2 (opgegeven naam: Anouk) (u)")
    # the guidance cards chosen for this chat, with why each was chosen; the first ones open
    titles = [card["title"] for card in created["guidance"]]
    assert titles, "the API chose guidance cards for an acute chat"
    cards = detail.locator(".gcard")
    expect(cards).to_have_count(len(titles))
    expect(cards.locator(".gcard-title")).to_have_text(titles)
    expect(cards.first.locator(".gcard-body")).to_be_visible()
    expect(cards.first.locator(".gcard-reason")).to_contain_text("Waarom deze kaart")
    # the explanation: the Dutch summary, scores as bars, what drove each decision, the red flags
    expect(page.locator("#detail-summary")).to_contain_text("Urgentie: acuut")
    expect(detail.locator(".explain-head h4")).to_have_text(["Urgentie: acuut", "Rol: slachtoffer",
                                                            re.compile("Minderjarig: ")])
    expect(detail.locator(".explain-head").first.locator(".bars li.chosen .bar-label")).to_contain_text("acuut")
    expect(page.locator("#detail-flags li")).to_have_count(len(created["prediction"]["red_flags"]))
    expect(page.locator("#detail-messages mark.flag").first).to_be_visible()
    # the claimed chat has left the queue
    expect(rows(page)).to_have_count(1, timeout=LIVE)
    claimed = api.call("GET", "/v1/chats/c-acute").json()  # the key claimed it; the typed name stands beside it
    assert (claimed["claimed_by"], claimed["claimed_name"]) == ("env:advisor#2", "Anouk")
    shot(page, "05-claimed-guidance")
    detail.locator("#detail-explain-wrap > summary").click()
    detail.locator("#detail-explain").scroll_into_view_if_needed()
    shot(page, "06-claimed-explanation")

    # releasing puts it back in the queue
    page.get_by_role("button", name="Terug in de wachtrij").click()
    expect(page.locator("#detail-empty")).to_be_visible()
    expect(rows(page)).to_have_count(2, timeout=LIVE)


def test_new_acute_chat_reorders_the_queue_and_cannot_be_missed(page, sign_in, api):
    api.chat("r-low", LOW, minutes_ago=30)
    api.chat("r-normal", NORMAL, minutes_ago=10)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(2)
    before = row_ids(page)
    expect(page.locator("#acute-alert")).to_be_hidden()
    assert not page.title().startswith("⚠")

    created = api.chat("r-acute", ACUTE, minutes_ago=0)
    assert created["triage"]["urgency"] == "acute"
    # within a poll or two: the new chat is on top, the rest keep their order
    expect(rows(page)).to_have_count(3, timeout=LIVE)
    assert row_ids(page) == ["r-acute", *before]
    alert = page.get_by_role("alert").filter(has_text="Acute chat in de wachtrij")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Chat r-acute staat op plaats 1")
    expect(alert).to_contain_text("wapen")
    expect(page).to_have_title(re.compile("ACUTE CHAT"), timeout=3_000)  # the title flashes
    shot(page, "07-acute-arrives")

    # keyboard only: from the alert to the chat, then claim it with Enter
    page.get_by_role("button", name="Naar de chat").focus()
    page.keyboard.press("Enter")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "Claimen: chat r-acute, acuut"
    expect(page.locator("#acute-alert")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text("Chat r-acute")
    expect(page).not_to_have_title(re.compile("ACUUT|ACUTE"))
    shot(page, "08-acute-claimed-by-keyboard")


def test_override_with_a_reason(page, sign_in, api):
    api.chat("o-normal", NORMAL, minutes_ago=3)
    sign_in(page, "advisor")
    page.get_by_role("button", name=re.compile("Claimen: chat o-normal")).click()
    expect(page.locator("#detail-title")).to_have_text("Chat o-normal")

    page.get_by_role("button", name="Triage aanpassen").click()
    form = page.locator("#override-form")
    expect(form).to_be_visible()
    form.get_by_label("Urgentie").select_option(label="hoog")
    form.get_by_role("button", name="Aanpassing opslaan").click()
    expect(page.locator("#ov-error")).to_have_text("Geef een reden voor de aanpassing.")
    expect(form.get_by_label("Reden (verplicht)")).to_be_focused()

    form.get_by_label("Minderjarig").select_option(label="ja")
    form.get_by_label("Reden (verplicht)").fill("Chatter noemt later dat zij 15 is en dat het elke dag gebeurt")
    form.get_by_role("button", name="Aanpassing opslaan").click()
    expect(page.locator("#detail-badges .badge-override")).to_have_text("aangepast: urgentie, minderjarig")
    expect(page.locator("#detail-badges .badge-urgency-high")).to_have_text("hoog")
    expect(page.locator("#detail-summary")).to_contain_text("Aangepast door env:advisor#2 (opgegeven naam: Anouk)")
    shot(page, "09-override")
    page.locator("#detail .history summary").click()
    expect(page.locator("#detail-history")).to_contain_text(
        "Aangepast door env:advisor#2 (opgegeven naam: Anouk): urgentie hoog, minderjarig ja")

    chat = api.call("GET", "/v1/chats/o-normal").json()
    assert chat["override"]["fields"] == {"urgency": "high", "minor": True}
    assert chat["override"]["advisor"] == "env:advisor#2" and chat["override"]["name"] == "Anouk"
    assert chat["override"]["reason"].startswith("Chatter noemt later")

    page.locator("#act-close").click()
    page.locator("#close-outcome").select_option("advice")
    page.locator("#close-submit").click()
    expect(page.locator("#detail-empty")).to_be_visible()
    assert api.call("GET", "/v1/chats/o-normal").json()["status"] == "closed"


@pytest.mark.parametrize("role, path", [("reviewer", "/ui/queue"), ("queue", "/ui/queue"), ("advisor", "/ui/audit")])
def test_a_role_that_may_not_see_the_page(page, sign_in, api, role, path):
    chat_id = f"d-{role}-{path.rsplit('/', 1)[-1]}"
    api.chat(chat_id, ACUTE)
    data_requests: list[str] = []
    page.on("request", lambda r: data_requests.append(r.url) if "/v1/" in r.url and "/v1/me" not in r.url else None)
    sign_in(page, role, path)
    expect(page.get_by_role("heading", name="Deze pagina is niet beschikbaar voor uw rol")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#denied-text")).to_contain_text("U bent ingelogd als")
    assert page.get_by_text(chat_id).count() == 0
    assert data_requests == [], "the page asks the API for no data the role may not see"
    if path == "/ui/queue":  # and the API refuses it anyway
        assert api.call("GET", "/v1/queue", role).status_code == 403
    shot(page, f"10-denied-{role}-{path.rsplit('/', 1)[-1]}")


def test_queue_page_is_accessible(page, sign_in, ui_server, api):
    """Labels on every control, enough contrast, and keyboard use, in every state of the page."""
    api.chat("a-acute", ACUTE_MINOR, minutes_ago=1)
    api.chat("a-normal", NORMAL, minutes_ago=4)
    page.goto(ui_server.url + "/ui/queue")
    assert page.locator("html").get_attribute("lang") == "nl"
    expect(page.get_by_label("Toegangscode")).to_be_focused()  # ready to type the key
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Naar de inhoud"
    assert accessibility_problems(page) == []  # the sign-in form

    sign_in(page, "advisor")
    expect(page.locator("#acute-alert")).to_be_visible()
    expect(rows(page)).to_have_count(2)
    assert accessibility_problems(page) == []  # the queue with the acute alert

    # claim by keyboard only: Tab through the page to the first claim button
    for _ in range(30):
        page.keyboard.press("Tab")
        label = page.evaluate("() => document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Claimen: chat a-acute"):
            break
    else:
        pytest.fail("the claim button cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_have_text("Chat a-acute")
    assert accessibility_problems(page) == []  # the claimed chat
