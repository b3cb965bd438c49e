"""The advisor's workspace on /ui/queue in headless Chromium: new danger after an override, the acute
banner per chat, claims that lapse, reading before claiming, every message live, the fold at
1366x768, the dialogs, shortcuts, the team's chats and proper Dutch."""

from __future__ import annotations

import re
import pytest
from playwright.sync_api import expect

from service.helpers import API_KEYS_ENV, KEYS, Server, server_env
from ui.a11y import accessibility_problems
from ui.conftest import NAMES, shot

pytestmark = pytest.mark.slow

ACUTE = "help mijn man heeft een mes en hij staat nu voor de deur, hij zegt dat hij me gaat vermoorden"
ACUTE_MINOR = "ik ben 13 en mijn stiefvader heeft me net gewurgd, ik zit op de wc opgesloten"
NORMAL = "hoi ik weet niet of ik hier goed ben, mijn buurvrouw schreeuwt vaak tegen haar kinderen"
LOW = "Ik ben leerkracht groep 6 en een leerling heeft blauwe plekken, hoe werkt de meldcode?"
DANGER = "ik ben 15 en mijn vader zei dat hij me gaat doodmaken als ik iets vertel"
ENGLISH = "my husband hits me every day and I am scared, I do not know what to do"
CHILD = "ik ben 10 jaar en mijn papa slaat mij als mama weg is"

LIVE = 8_000  # the page polls every 2-2.5 s; allow for a slow machine


def rows(page):
    return page.locator("#queue-body tr")


def row(page, chat_id: str):
    return page.locator(f"#queue-body tr[data-chat-id='{chat_id}']")


def message(api, chat_id: str, text: str) -> dict:
    response = api.call("POST", f"/v1/chats/{chat_id}/messages", "queue", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def claim_in_page(page, chat_id: str, urgency: str):
    page.get_by_role("button", name=f"Claimen: chat {chat_id}, {urgency}").click()
    expect(page.locator("#detail-title")).to_have_text(f"Chat {chat_id}")
    expect(page.locator("#detail-status")).to_contain_text("Geclaimd door")


def no_problems(page):
    assert accessibility_problems(page) == []


# ---- 1. an override never hides new danger --------------------------------------------------------


def test_new_danger_after_an_override_raises_the_alert_again(page, sign_in, api):
    created = api.chat("w-help", "help", minutes_ago=1)
    urgency = created["triage"]["urgency"]
    assert urgency in ("acute", "high"), "a bare cry for help is taken seriously"
    sign_in(page, "advisor")
    if urgency == "acute":
        expect(page.locator("#acute-alert")).to_contain_text("Chat w-help")
    claim_in_page(page, "w-help", {"acute": "acuut", "high": "hoog"}[urgency])
    expect(page.locator("#acute-alert")).to_be_hidden()

    # the advisor reads "help" as nothing urgent: override to normal, with a reason, in the dialog
    page.locator("#act-override").click()
    dialog = page.locator("#override-dialog")
    expect(dialog).to_be_visible()
    no_problems(page)
    shot(page, "w01-override-dialog")
    dialog.get_by_label("Urgentie").select_option(label="normaal")
    dialog.get_by_label("Reden (verplicht)").fill("Alleen 'help' getypt, geen teken van gevaar")
    dialog.get_by_role("button", name="Aanpassing opslaan").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#detail-badges .badge-urgency-normal")).to_have_text("normaal")
    page.locator("#act-release").click()
    expect(page.locator("#detail-empty")).to_be_visible()
    expect(row(page, "w-help").locator(".badge-urgency-normal")).to_be_visible(timeout=LIVE)
    expect(page.locator("#acute-alert")).to_be_hidden()

    # then the chatter writes on: new danger lapses the override and rings the alert again
    after = message(api, "w-help", DANGER)
    assert after["triage"]["urgency"] == "acute" and after["triage"]["alert"], after["triage"]
    alert = page.get_by_role("alert").filter(has_text="Acute chat in de wachtrij")
    expect(alert).to_be_visible(timeout=LIVE)
    expect(alert).to_contain_text("Chat w-help")
    expect(alert).to_contain_text(after["triage"]["alert"]["text_nl"])
    expect(row(page, "w-help").locator(".badge-urgency-acute")).to_have_text("acuut")
    expect(row(page, "w-help").locator(".row-alert")).to_contain_text(after["triage"]["alert"]["text_nl"])
    no_problems(page)
    shot(page, "w02-override-lapsed-alert-again")

    # the history says so in Dutch
    page.get_by_role("button", name="Openen: chat w-help, acuut").click()
    page.locator("#detail-history-wrap > summary").click()
    expect(page.locator("#detail-history")).to_contain_text("Aanpassing vervallen")
    # who: the key's label, the name typed at sign-in beside it as self-declared
    expect(page.locator("#detail-history")).to_contain_text(
        "Aangepast door env:advisor#2 (opgegeven naam: Anouk): urgentie normaal")


def test_new_danger_in_the_chat_an_advisor_has_open_shows_in_the_detail_pane(page, sign_in, api):
    api.chat("w-open", "hoi", minutes_ago=1)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(1)
    claim_in_page(page, "w-open", page.locator("#queue-body .badge").first.inner_text())
    page.locator("#act-override").click()
    page.locator("#ov-urgency").select_option("low")
    page.locator("#ov-reason").fill("Lijkt een algemene vraag")
    page.locator("#ov-submit").click()
    expect(page.locator("#detail-badges .badge-urgency-low")).to_be_visible()
    expect(page.locator("#detail-alert")).to_be_hidden()

    after = message(api, "w-open", DANGER)  # while the advisor has the chat
    assert after["triage"]["alert"], after["triage"]
    box = page.locator("#detail-alert")
    expect(box).to_be_visible(timeout=LIVE)
    assert box.get_attribute("role") == "alert"
    expect(box).to_contain_text(after["triage"]["alert"]["text_nl"])
    expect(page.locator("#detail-messages .message")).to_have_count(2)
    no_problems(page)
    shot(page, "w03-alert-in-open-chat")


# ---- 2. the worst first, one acknowledgement per chat -----------------------------------------------


def test_acute_banner_acknowledges_one_chat_at_a_time(page, sign_in, api):
    api.chat("b-normal", NORMAL, minutes_ago=9)
    api.chat("b-acute-1", ACUTE, minutes_ago=1)
    api.chat("b-acute-2", ACUTE_MINOR, minutes_ago=2)
    order = [i for i in api.queue_ids() if i.startswith("b-acute")]
    queue = api.call("GET", "/v1/queue", "advisor").json()["items"]
    assert all(i["reason_nl"].endswith(".") for i in queue), "the reason is a sentence"
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(3)
    banner = page.locator("#acute-alert")
    expect(banner).to_contain_text(f"Chat {order[0]} staat op plaats 1")
    expect(banner).to_contain_text("nog 1 andere niet gezien")
    # the reason is a whole sentence, not cut off, with the details on demand
    first = row(page, order[0])
    reason = first.locator(".reason")
    assert reason.evaluate("e => e.scrollWidth <= e.clientWidth")
    expect(reason).to_contain_text(queue[0]["reason_nl"])
    if queue[0].get("reason_detail_nl"):
        first.locator(".reason-detail summary").click()
        expect(first.locator(".reason-detail p")).to_be_visible()
    shot(page, "w04-two-acute-banner")

    page.get_by_role("button", name="Gezien").click()  # one chat: the banner moves on to the next
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(f"Chat {order[1]} staat op plaats 2")
    expect(banner).not_to_contain_text("andere niet gezien")
    page.get_by_role("button", name="Gezien").click()
    expect(banner).to_be_hidden()

    api.chat("b-acute-3", ACUTE, minutes_ago=0)  # a new acute chat rings again
    expect(banner).to_be_visible(timeout=LIVE)
    expect(banner).to_contain_text("Chat b-acute-3")
    no_problems(page)


def test_browser_notification_for_a_new_acute_chat(page, sign_in, api):
    page.add_init_script("""
      window.__notes = [];
      window.Notification = class { constructor(title, opts) { window.__notes.push([title, opts.body]); } };
      window.Notification.permission = "default";
      window.Notification.requestPermission = async () => { window.Notification.permission = "granted"; return "granted"; };
    """)
    sign_in(page, "advisor")
    page.get_by_label("Melding bij acute chat").check()
    expect(page.locator("#toast")).to_contain_text("U krijgt een melding")
    api.chat("n-acute", ACUTE, minutes_ago=0)
    expect(page.locator("#acute-alert")).to_be_visible(timeout=LIVE)
    notes = page.evaluate("() => window.__notes")
    assert notes and notes[0][0] == "Acute chat in de wachtrij" and "n-acute" in notes[0][1]


# ---- 3. nothing gets stuck ---------------------------------------------------------------------------


def test_a_claim_without_heartbeat_returns_to_the_queue(browser_context, api, tmp_path):
    server = Server(server_env(tmp_path / "data", api_keys=API_KEYS_ENV, TRIAGE_CLAIM_TIMEOUT_SECONDS="5"),
                    tmp_path / "server.log")
    server.start()
    first = browser_context.new_page()
    second = browser_context.new_page()
    try:
        import httpx

        response = httpx.post(server.url + "/v1/chats", headers={"Authorization": f"Bearer {KEYS['queue']}"},
                              json={"chat_id": "s-stuck", "text": NORMAL}, timeout=30)
        assert response.status_code == 201, response.text

        def sign_in_there(tab, name):
            tab.goto(server.url + "/ui/queue")
            tab.get_by_label("Toegangscode").fill(KEYS["advisor"])
            tab.get_by_label("Uw naam").fill(name)
            tab.get_by_role("button", name="Inloggen").click()
            expect(tab.locator("#app")).to_be_visible()

        sign_in_there(first, "Anouk")
        sign_in_there(second, "Bram")
        claim_in_page(first, "s-stuck", "normaal")
        expect(second.locator("#queue-body tr[data-chat-id='s-stuck']")).to_have_count(0, timeout=LIVE)
        # While the page is open its heartbeats keep the claim, even past the (short) timeout.
        second.wait_for_timeout(8_000)
        held = httpx.get(server.url + "/v1/chats/s-stuck", headers={"Authorization": f"Bearer {KEYS['advisor']}"}).json()
        assert held["status"] == "claimed" and held["claimed_name"] == "Anouk", held["status"]
        assert held["claim_timeout_seconds"] == 5
        expect(second.locator("#queue-body tr[data-chat-id='s-stuck']")).to_have_count(0)
        first.close()  # the advisor's page goes away: no more heartbeats

        back = second.locator("#queue-body tr[data-chat-id='s-stuck']")
        expect(back).to_be_visible(timeout=25_000)
        expect(back.locator(".returned")).to_be_visible()
        chat = httpx.get(server.url + "/v1/chats/s-stuck", headers={"Authorization": f"Bearer {KEYS['advisor']}"}).json()
        assert chat["status"] == "waiting" and chat["triage"]["returned"]
        expect(back.locator(".returned")).to_contain_text(chat["triage"]["returned"]["text_nl"])
        assert accessibility_problems(second) == []
        shot(second, "w05-claim-returned")
        second.get_by_role("button", name="Openen: chat s-stuck, normaal").click()
        second.locator("#detail-history-wrap > summary").click()
        expect(second.locator("#detail-history")).to_contain_text(
            "Claim van env:advisor#2 (opgegeven naam: Anouk) verlopen")
    finally:
        if not first.is_closed():
            first.close()
        second.close()
        server.stop()


def test_mine_and_the_team_and_the_admin_buttons(page, sign_in, api, browser_context, ui_server):
    api.chat("t-bram", NORMAL, minutes_ago=4)
    api.chat("t-mine", LOW, minutes_ago=3)
    assert api.call("POST", "/v1/chats/t-bram/claim", "advisor", json={"advisor": "Bram"}).status_code == 200
    sign_in(page, "advisor")
    claim_in_page(page, "t-mine", "laag")
    expect(page.locator("#mine-list li")).to_have_count(1, timeout=LIVE)
    expect(page.locator("#mine-list")).to_contain_text("Chat t-mine")
    team = page.locator("#team-body tr[data-chat-id='t-bram']")
    # One advisor key shared by Anouk and Bram: the page tells their chats apart by the name given
    expect(team).to_contain_text("in behandeling bij env:advisor#2 (opgegeven naam: Bram)", timeout=LIVE)
    expect(team.get_by_role("button", name=re.compile("Vrijgeven"))).to_have_count(0)  # advisors: no admin buttons
    shot(page, "w06-mine-and-team")
    # every chat the advisor holds gets a heartbeat (every 10 s)
    beat = page.wait_for_event("requestfinished", predicate=lambda r: r.url.endswith("/v1/chats/t-mine/heartbeat"),
                               timeout=15_000)
    assert beat.method == "POST" and beat.post_data_json == {}  # the key is the claimer
    assert beat.response().status == 200

    admin = browser_context.new_page()
    try:
        sign_in(admin, "admin")
        row_bram = admin.locator("#team-body tr[data-chat-id='t-bram']")
        expect(row_bram).to_contain_text("in behandeling bij env:advisor#2 (opgegeven naam: Bram)", timeout=LIVE)
        expect(admin.locator("#team-body tr[data-chat-id='t-mine']")).to_contain_text("(opgegeven naam: Anouk)")
        assert accessibility_problems(admin) == []
        shot(admin, "w07-admin-team")
        row_bram.get_by_role("button", name=re.compile("Overdragen aan")).click()
        dialog = admin.locator("#reassign-dialog")
        expect(dialog).to_be_visible()
        assert accessibility_problems(admin) == []
        dialog.get_by_role("button", name="Overdragen").click()
        expect(admin.locator("#reassign-error")).to_contain_text("Vul de toegangscode in")
        # A chat goes to a key (a typed name decides nothing); the colleague's name goes with it.
        dialog.get_by_label("Code van de collega").fill("Carla")
        dialog.get_by_role("button", name="Overdragen").click()
        expect(admin.locator("#reassign-error")).to_contain_text("Er is geen adviseur met die toegangscode")
        dialog.get_by_label("Code van de collega").fill("env:advisor#2")
        dialog.get_by_label("Naam van de collega").fill("Carla")
        dialog.get_by_role("button", name="Overdragen").click()
        expect(dialog).to_be_hidden()
        expect(row_bram).to_contain_text("in behandeling bij env:advisor#2 (opgegeven naam: Carla)", timeout=LIVE)
        assert api.call("GET", "/v1/chats/t-bram").json()["claimed_name"] == "Carla"
        row_bram.get_by_role("button", name=re.compile("Vrijgeven")).click()
        expect(admin.locator("#queue-body tr[data-chat-id='t-bram']")).to_be_visible(timeout=LIVE)
        assert api.call("GET", "/v1/chats/t-bram").json()["status"] == "waiting"
    finally:
        admin.close()
    listed = api.call("GET", "/v1/chats?status=claimed", "advisor").json()["items"]
    mine = [c for c in listed if c["chat_id"] == "t-mine"]
    assert mine and mine[0]["claimed_name"] == "Anouk"


def test_signing_out_with_a_chat_in_hand_asks_first(page, sign_in, api):
    api.chat("so-chat", NORMAL, minutes_ago=2)
    sign_in(page, "advisor")
    claim_in_page(page, "so-chat", "normaal")
    page.get_by_role("button", name="Uitloggen").click()
    dialog = page.locator("#signout-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Chat so-chat is nog door u geclaimd")
    no_problems(page)
    shot(page, "w08-sign-out-dialog")
    dialog.get_by_role("button", name="Niet uitloggen").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#app")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('triage.key')") == KEYS["advisor"]

    page.get_by_role("button", name="Uitloggen").click()
    dialog.get_by_role("button", name="Terug in de wachtrij").click()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('triage.key')") is None
    assert api.call("GET", "/v1/chats/so-chat").json()["status"] == "waiting"

    # or close it first: the close dialog, then signed out
    sign_in(page, "advisor")
    claim_in_page(page, "so-chat", "normaal")
    page.get_by_role("button", name="Uitloggen").click()
    dialog.get_by_role("button", name="Chat afsluiten").click()
    close = page.locator("#close-dialog")
    expect(close).to_be_visible()
    close.get_by_label("Uitkomst").select_option(label="doorverwezen")
    close.get_by_role("button", name="Chat afsluiten").click()
    expect(page.locator("#signin")).to_be_visible()
    assert api.call("GET", "/v1/chats/so-chat").json()["status"] == "closed"


def test_a_claimed_chat_survives_a_reload(page, sign_in, api):
    api.chat("rl-chat", NORMAL, minutes_ago=2)
    message(api, "rl-chat", "ben je er nog?")
    sign_in(page, "advisor")
    claim_in_page(page, "rl-chat", "normaal")
    page.reload()
    expect(page.locator("#detail-title")).to_have_text("Chat rl-chat")
    expect(page.locator("#detail-status")).to_contain_text("Geclaimd door env:advisor#2 (opgegeven naam: Anouk) (u)")
    expect(page.locator("#detail-messages .message")).to_have_count(2)
    expect(page.locator("#act-close")).to_be_visible()


# ---- 4. the whole chat, before and after claiming ---------------------------------------------------


def test_read_a_waiting_chat_before_claiming(page, sign_in, api):
    api.chat("rd-chat", "hoi", minutes_ago=3)
    message(api, "rd-chat", "mijn vriend heeft me gisteren geslagen")
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(1)
    row(page, "rd-chat").locator(".preview").click()  # a click on the row opens it
    expect(page.locator("#detail-title")).to_have_text("Chat rd-chat")
    expect(page.locator("#detail-status")).to_contain_text("nog niet geclaimd")
    expect(page.locator("#detail-messages .message")).to_have_count(2)
    expect(page.locator("#detail-messages")).to_contain_text("geslagen")
    expect(page.locator("#act-claim")).to_be_visible()
    for hidden in ("#act-override", "#act-close", "#act-release"):
        expect(page.locator(hidden)).to_be_hidden()
    assert api.call("GET", "/v1/chats/rd-chat").json()["status"] == "waiting"
    no_problems(page)
    shot(page, "w09-read-before-claim")

    page.locator("#act-claim").click()
    expect(page.locator("#detail-status")).to_contain_text("(opgegeven naam: Anouk) (u)")
    expect(page.locator("#act-close")).to_be_visible()
    expect(page.locator("#act-claim")).to_be_hidden()


def test_every_message_with_its_time_and_new_ones_live(page, sign_in, api):
    api.chat("m-chat", "hoi", minutes_ago=4)
    message(api, "m-chat", "het gaat over mijn vriend")
    message(api, "m-chat", "hij heeft een mes gepakt")
    sign_in(page, "advisor")
    claim_in_page(page, "m-chat", page.locator("#queue-body .badge").first.inner_text())
    messages = page.locator("#detail-messages .message")
    expect(messages).to_have_count(3)
    expect(messages.nth(0)).to_contain_text("hoi")
    expect(messages.nth(2).locator(".message-text")).to_contain_text(re.compile(r"hij heeft een mes.*gepakt"))
    expect(messages.nth(2).locator("time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(messages.nth(2).locator("mark.flag")).to_have_text("mes")  # red flags highlighted per message

    message(api, "m-chat", "hij staat nu voor de deur")  # the chatter writes on while the advisor has the chat
    expect(messages).to_have_count(4, timeout=LIVE)
    expect(messages.nth(3)).to_contain_text("voor de deur")
    expect(page.locator("#detail-live")).to_contain_text("Nieuw bericht van de chatter")
    assert page.locator("#detail-live").get_attribute("aria-live") == "polite"
    no_problems(page)
    shot(page, "w10-messages-live")


# ---- 5. everything at the fold ----------------------------------------------------------------------


def test_everything_needed_is_visible_at_1366x768(page, sign_in, api):
    api.chat("f-other", ACUTE_MINOR, minutes_ago=1)  # keeps the acute banner up: the tightest layout
    api.chat("f-chat", "hoi", minutes_ago=5)
    for text in ("ik weet niet waar ik moet beginnen", "mijn man slaat me al jaren",
                 "vannacht heeft hij me bij mijn keel gepakt", "ik ben bang dat hij terugkomt"):
        message(api, "f-chat", text)
    for i in range(12):
        api.chat(f"f-fill-{i}", NORMAL, minutes_ago=2 + i)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(14)
    page.get_by_role("button", name=re.compile("Claimen: chat f-chat,")).click()
    expect(page.locator("#detail-title")).to_have_text("Chat f-chat")
    expect(page.locator("#acute-alert")).to_be_visible()
    expect(page.locator("#detail-guidance .gcard").first).to_be_visible()

    assert page.evaluate("() => document.documentElement.scrollHeight") == 768
    page.mouse.wheel(0, 2000)
    page.evaluate("() => window.scrollTo(0, 2000)")
    assert page.evaluate("() => window.scrollY") == 0
    assert page.locator(".topbar").bounding_box()["y"] == 0  # the header never scrolls away

    def within_fold(locator, what):
        box = locator.bounding_box()
        assert box is not None, f"{what} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768, f"{what} is not within the first screen: {box}"

    within_fold(page.locator("#detail-messages"), "the messages")
    within_fold(page.locator("#detail-messages .message").last, "the last message")
    within_fold(page.locator("#detail-badges"), "the triage badges")
    within_fold(page.locator("#detail-oneline"), "the one-line summary")
    within_fold(page.locator("#detail-guidance .gcard").first.locator("summary"), "the first guidance card")
    within_fold(page.locator("#detail-guidance .gcard-body").first.locator("> *").first, "the first card's advice")
    for name in ("Triage aanpassen", "Chat afsluiten", "Terug in de wachtrij"):
        within_fold(page.locator("#action-bar").get_by_role("button", name=name), name)
    no_problems(page)
    shot(page, "w11-fold-1366x768")


# ---- 6. small things -------------------------------------------------------------------------------


def test_close_needs_an_outcome(page, sign_in, api):
    api.chat("cl-chat", NORMAL, minutes_ago=2)
    sign_in(page, "advisor")
    claim_in_page(page, "cl-chat", "normaal")
    page.locator("#act-close").click()
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    select = dialog.get_by_label("Uitkomst")
    assert select.input_value() == ""
    expect(select.locator("option:checked")).to_have_text("Kies een uitkomst")
    dialog.get_by_role("button", name="Chat afsluiten").click()
    expect(page.locator("#close-error")).to_have_text("Kies een uitkomst voordat u de chat afsluit.")
    expect(select).to_be_focused()
    assert api.call("GET", "/v1/chats/cl-chat").json()["status"] == "claimed"
    no_problems(page)
    shot(page, "w12-close-needs-outcome")
    select.select_option(label="advies gegeven")
    dialog.get_by_role("button", name="Chat afsluiten").click()
    expect(page.locator("#detail-empty")).to_be_visible()
    chat = api.call("GET", "/v1/chats/cl-chat").json()
    assert chat["status"] == "closed" and chat["outcome"] == "advice"


def test_claim_buttons_wait_while_a_chat_is_in_hand(page, sign_in, api):
    api.chat("cb-one", NORMAL, minutes_ago=5)
    api.chat("cb-two", LOW, minutes_ago=4)
    sign_in(page, "advisor")
    claim_in_page(page, "cb-one", "normaal")
    other = page.get_by_role("button", name="Claimen: chat cb-two, laag")
    expect(other).to_be_disabled()
    expect(other).to_have_attribute("title", re.compile("U heeft chat cb-one in behandeling"))
    # the toast sits over the queue pane, not over the guidance
    toast = page.locator("#toast").bounding_box()
    detail = page.locator("#detail").bounding_box()
    assert toast["x"] + toast["width"] <= detail["x"], "the toast covers the detail pane"
    page.locator("#act-release").click()
    expect(page.get_by_role("button", name="Claimen: chat cb-two, laag")).to_be_enabled(timeout=LIVE)


def test_a_lost_claim_says_who_has_the_chat(page, sign_in, api):
    api.chat("lc-chat", NORMAL, minutes_ago=2)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(1)

    def colleague_first(route):  # a colleague claims just before this advisor's claim arrives
        api.call("POST", "/v1/chats/lc-chat/claim", "advisor", json={"advisor": "Bram"})
        route.continue_()

    page.route("**/v1/chats/lc-chat/claim", colleague_first)
    page.get_by_role("button", name="Claimen: chat lc-chat, normaal").click()
    expect(page.locator("#toast")).to_have_text("Chat lc-chat is al geclaimd door env:advisor#2 (opgegeven naam: Bram).")
    expect(page.locator("#detail-empty")).to_be_visible()
    shot(page, "w13-lost-claim")


def test_a_returning_client_shows_the_earlier_contact(page, sign_in, api):
    api.chat("ec-chat", DANGER, minutes_ago=30)
    api.call("POST", "/v1/chats/ec-chat/claim", "advisor", json={"advisor": "Bram"})
    assert api.call("POST", "/v1/chats/ec-chat/close", "advisor", json={"outcome": "referral"}).status_code == 200
    again = api.call("POST", "/v1/chats", "queue", json={"chat_id": "ec-chat", "text": "ik ben het weer"})
    assert again.status_code == 201 and again.json()["chat_id"] == "ec-chat~2"
    sign_in(page, "advisor")
    expect(row(page, "ec-chat~2").locator(".returning")).to_contain_text("eerder contact")
    row(page, "ec-chat~2").locator(".preview").click()
    earlier = page.locator("#detail-previous")
    expect(earlier).to_contain_text("Eerder contact")
    expect(earlier).to_contain_text(re.compile(r"Chat ec-chat: binnengekomen op .+, afgesloten op .+ "
                                               r"\(uitkomst: doorverwezen\)\. Triage: acuut"))
    expect(earlier).to_contain_text("behandeld door env:advisor#2 (opgegeven naam: Bram)")
    no_problems(page)
    shot(page, "w15-earlier-contact")


def test_keyboard_shortcuts(page, sign_in, api):
    api.chat("k-one", NORMAL, minutes_ago=6)
    api.chat("k-two", LOW, minutes_ago=5)
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(2)
    ids = rows(page).evaluate_all("rows => rows.map(r => r.dataset.chatId)")
    page.locator("#queue-title").focus()
    page.keyboard.press("j")
    expect(row(page, ids[0])).to_have_class(re.compile("is-selected"))
    page.keyboard.press("j")
    expect(row(page, ids[1])).to_have_class(re.compile("is-selected"))
    page.keyboard.press("k")
    expect(row(page, ids[0])).to_have_class(re.compile("is-selected"))
    page.keyboard.press("n")
    expect(row(page, ids[1])).to_have_class(re.compile("is-selected"))

    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("volgende chat in de wachtrij")
    no_problems(page)
    shot(page, "w14-shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("c")  # claims the selected chat
    expect(page.locator("#detail-title")).to_have_text(f"Chat {ids[1]}")
    expect(page.locator("#detail-status")).to_contain_text("(opgegeven naam: Anouk) (u)")

    # not while typing: "j" and "a" in the override reason stay letters
    page.locator("#act-override").click()
    page.locator("#ov-reason").fill("")
    page.locator("#ov-reason").press_sequentially("ja")
    expect(page.locator("#ov-reason")).to_have_value("ja")
    expect(page.locator("#close-dialog")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(page.locator("#override-dialog")).to_be_hidden()

    page.locator("#detail-title").focus()
    page.keyboard.press("a")  # close: opens the close dialog
    expect(page.locator("#close-dialog")).to_be_visible()
    expect(page.locator("#close-outcome")).to_be_focused()
    page.keyboard.press("Escape")


# ---- 7. proper Dutch ---------------------------------------------------------------------------------


def test_proper_dutch_no_codes_decimal_commas(page, sign_in, api, ui_server):
    english = api.chat("nl-english", ENGLISH, minutes_ago=3)
    api.chat("nl-kind", CHILD, minutes_ago=2)
    page.goto(ui_server.url + "/ui/queue")
    expect(page.locator("#signin")).to_contain_text("toegangscode")
    assert "API" not in page.locator("#signin").inner_text()
    sign_in(page, "advisor")
    expect(rows(page)).to_have_count(2)

    def detail_text(chat_id):
        page.get_by_role("button", name=re.compile(f"Openen: chat {chat_id},")).click()
        expect(page.locator("#detail-title")).to_have_text(f"Chat {chat_id}")
        for section in ("#detail-flags-wrap", "#detail-explain-wrap", "#detail-history-wrap"):
            if page.locator(section).is_visible() and page.locator(section).get_attribute("open") is None:
                page.locator(f"{section} > summary").click()
        return page.locator("#detail").inner_text()

    for chat_id in ("nl-english", "nl-kind"):
        text = detail_text(chat_id)
        assert not re.search(r"\((en|nl|de|fr)\)", text), f"a language code in {chat_id}: {text}"
        assert not re.search(r"\d\.\d", text), f"a decimal point in {chat_id}: {text}"
        for english_word in ("child", "teen", "adult", "low confidence", "not Dutch", "uncertain", "schrijver"):
            assert english_word not in text, f"{english_word!r} in {chat_id}: {text}"
    if english["prediction"]["language"] == "en" and english["triage"]["needs_review"]:
        page.get_by_role("button", name=re.compile("Openen: chat nl-english,")).click()
        expect(page.locator("#detail")).to_contain_text("Engels")
    shot(page, "w15-dutch")
    # the helpers themselves
    assert page.evaluate("() => UI.textNl('taal: niet Nederlands (en); urgentie: lage zekerheid (0.57); score 1.57')") == \
        "taal: niet Nederlands maar Engels; urgentie: lage zekerheid (57%); score 1,57"
    assert page.evaluate("() => UI.num(1.57)") == "1,57"
    assert page.evaluate("() => UI.featureNl({feature: 'cue__age=child'})") == "leeftijd: jonger dan 12 jaar"
    no_problems(page)
