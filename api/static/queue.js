/* The advisor page (/ui/queue): the live queue with the acute alert, the chats in hand (mine and the
 * team's), and one chat in the detail pane: all its messages (live), the triage, the guidance cards
 * and the explanation, with the actions in a bar at the bottom (override and close open dialogs).
 *
 * Polling: the queue every 2 s (GET /v1/queue), the claimed chats every 4 s
 * (GET /v1/chats?status=claimed), the open chat every 2.5 s (GET /v1/chats/{id}) and a heartbeat
 * every 10 s for every chat this advisor holds (POST /v1/chats/{id}/heartbeat), so that a claim of
 * an advisor who went away returns to the queue on the server. Chat text only ever goes into the
 * page as text nodes. */
"use strict";

(function () {
  const { el, clear, show, $, nl, api, session } = UI;
  const POLL_MS = 2000;
  const CHAT_POLL_MS = 2500;
  const HEARTBEAT_MS = 10000;
  const ACK_KEY = "triage.acuteSeen";
  const CURRENT_KEY = "triage.current";
  const SOUND_KEY = "triage.sound";
  const NOTIFY_KEY = "triage.notify";
  const baseTitle = document.title;
  const enc = encodeURIComponent;

  const state = {
    me: null,
    items: [],
    fetchedAt: 0,
    signature: "",
    known: null,            // chat ids of the previous poll (null before the first)
    alerted: new Set(),     // alert keys already announced (sound, notification)
    alertSignature: null,
    claimed: [],            // GET /v1/chats?status=claimed items
    claimedSignature: "",
    claimedAvailable: true,
    current: readJson(CURRENT_KEY),   // {chat_id, mode: "read" | "claimed"}
    chat: null,             // the open chat's detail as last fetched
    shownSeqs: new Set(),   // message seqs in the pane
    detailParts: {},        // signatures of the parts of the pane, to re-render only what changed
    alertShownAt: null,
    selected: null,         // chat id chosen with the keyboard (j/k)
    openReasons: new Set(), // queue rows whose details are open
    titleTimer: null,
    pollTimer: null,
    chatTimer: null,
    failures: 0,
    polls: 0,
    pendingSignOut: false,
  };

  function readJson(key) {
    try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function writeJson(key, value) {
    if (value === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, JSON.stringify(value));
  }
  const acknowledged = new Set(readJson(ACK_KEY) || []);
  function saveAcknowledged() { writeJson(ACK_KEY, [...acknowledged].slice(-500)); }

  /** What "seen" means for an acute chat: this chat with this alert (a new alert rings again). */
  function alertKey(item) {
    const alert = item.triage && item.triage.alert;
    return `${item.chat_id}|${alert && alert.at ? alert.at : ""}`;
  }

  /** The writer is "the chatter" on this page; numbers get decimal commas. */
  function say(text) {
    return UI.textNl(text).replace(/\bde schrijver\b/g, "de chatter").replace(/\bschrijver\b/g, "chatter");
  }

  /* ---- chats in hand ------------------------------------------------------------------------- */

  /** A claim is this advisor's when this key made it (the server allows only that key, or an
   * admin, to act on it) and, as several advisors may share one key, under the name given at
   * sign-in. Claims from before claims had keys: by name. */
  function isMine(chat) {
    if (!chat || chat.status === "waiting" || !(chat.claimed_key || chat.claimed_by)) return false;
    if (!chat.claimed_key) return chat.claimed_by === session.name;
    if (!state.me || chat.claimed_key !== state.me.key_id) return false;
    return !chat.claimed_name || !session.name || chat.claimed_name === session.name;
  }

  /** Who has (or did) something: the key's label, with the name typed at sign-in when it differs;
   * that name is self-declared, so it is labelled so (the server writes its texts the same way). */
  function who(label, name) {
    if (!name || name === label) return label || "";
    return label ? `${label} (opgegeven naam: ${name})` : `${name} (opgegeven naam)`;
  }
  function holder(chat) { return who(chat.claimed_by, chat.claimed_name) || "een collega"; }

  /** An action on a claimed chat that is not this key's: the server says 403 not_claimer. */
  function actionError(err) {
    if (err && err.status === 403 && err.code === "not_claimer") {
      return "Deze chat is door een collega geclaimd: alleen die collega of een beheerder kan dit doen.";
    }
    return UI.errorText(err);
  }

  /** Chat ids this advisor holds: from the claimed list and the open chat. */
  function myChatIds() {
    const ids = state.claimed.filter(isMine).map((c) => c.chat_id);
    if (state.current && state.current.mode === "claimed" && !ids.includes(state.current.chat_id)) {
      ids.unshift(state.current.chat_id);
    }
    return ids;
  }

  function claimBlockedText() {
    const mine = myChatIds();
    if (!mine.length) return "";
    return `U heeft chat ${mine[0]} in behandeling. Rond die eerst af of zet hem terug in de wachtrij.`;
  }

  /* ---- the queue ---------------------------------------------------------------------------- */

  function firstLine(text) {
    return String(text || "").split(/\r?\n/)[0];
  }

  function waitingNow(item) {
    return item.waiting_seconds + (performance.now() - state.fetchedAt) / 1000;
  }

  function triageBadges(triage) {
    const out = [UI.urgencyBadge(triage.urgency)];
    if (triage.minor) out.push(UI.badge("minor", "minderjarig"));
    if (triage.needs_review) out.push(UI.badge("review", "controle nodig"));
    if (triage.overridden && triage.overridden.length) out.push(UI.badge("override", "aangepast"));
    return out;
  }

  function flagChips(flags) {
    const seen = new Set();
    const chips = [];
    for (const f of flags || []) {
      if (seen.has(f.cue)) continue;
      seen.add(f.cue);
      chips.push(el("li", { class: "chip chip-flag" }, f.label_nl || nl("red_flag", f.cue)));
    }
    return chips.length ? el("ul", { class: "chips", "aria-label": "Rode vlaggen" }, chips) : null;
  }

  function previewNode(text, flags) {
    const line = firstLine(text);
    return line
      ? el("p", { class: "preview" }, UI.highlight(line, UI.flagSpans(line, flags)))
      : el("p", { class: "preview muted" }, "(geen voorbeeld)");
  }

  function reasonNode(item) {
    const text = say(item.reason_nl || "");
    const detail = item.reason_detail_nl ? say(item.reason_detail_nl) : "";
    const line = el("p", { class: "reason" }, el("span", { class: "visually-hidden" }, "Plaats: "), text);
    if (!detail) return line;
    const box = el("details", { class: "reason-detail", open: state.openReasons.has(item.chat_id),
                                dataset: { chatId: item.chat_id } },
      el("summary", {}, "Details", el("span", { class: "visually-hidden" }, ` bij de plaats van chat ${item.chat_id}`)),
      el("p", {}, detail));
    box.addEventListener("toggle", () => {
      if (box.open) state.openReasons.add(item.chat_id); else state.openReasons.delete(item.chat_id);
    });
    return [line, box];
  }

  function row(item, isNew, blocked) {
    const t = item.triage;
    const acute = t.urgency === "acute";
    const claim = el("button", {
      type: "button", class: `btn btn-small ${acute ? "btn-danger" : "btn-primary"}`,
      dataset: { action: "claim", chatId: item.chat_id },
      "aria-label": `Claimen: chat ${item.chat_id}, ${nl("urgency", t.urgency)}`,
      disabled: Boolean(blocked), title: blocked || null,
    }, "Claimen");
    const open = el("button", {
      type: "button", class: "btn btn-small", dataset: { action: "open", chatId: item.chat_id },
      "aria-label": `Openen: chat ${item.chat_id}, ${nl("urgency", t.urgency)}`,
    }, "Openen");
    const returned = t.returned && t.returned.text_nl
      ? el("p", { class: "returned" }, el("span", { class: "returned-icon", "aria-hidden": "true" }, "↩ "),
        say(t.returned.text_nl))
      : null;
    const alertNote = t.alert && t.alert.text_nl
      ? el("p", { class: "row-alert" }, el("span", { "aria-hidden": "true" }, "⚠ "), say(t.alert.text_nl))
      : null;
    const isOpen = state.current && state.current.chat_id === item.chat_id;
    return el("tr", {
      class: `urg-${t.urgency}${isNew ? " is-new" : ""}${isOpen ? " is-open" : ""}` +
        `${state.selected === item.chat_id ? " is-selected" : ""}`,
      dataset: { chatId: item.chat_id },
    },
      el("td", { class: "col-pos" }, String(item.position)),
      el("td", { class: "col-urg" }, el("div", { class: "badges" }, triageBadges(t))),
      el("td", { class: "col-wait" }, el("span", { class: "wait", dataset: { chatId: item.chat_id } },
        UI.duration(waitingNow(item)))),
      el("td", { class: "col-text" }, alertNote, returned,
        item.previous_chat_id ? el("p", { class: "returning" }, el("span", { class: "chip" }, "eerder contact"),
          ` De chatter was eerder hier (chat ${item.previous_chat_id}).`) : null,
        previewNode(item.preview, t.red_flags),
        flagChips(t.red_flags), reasonNode(item)),
      el("td", { class: "col-act" }, el("div", { class: "row-actions" }, claim, open)));
  }

  function signature(items, blocked) {
    return JSON.stringify([blocked, state.current && state.current.chat_id, state.selected,
      items.map((i) => [i.chat_id, i.position, i.preview, i.previous_chat_id, i.triage.urgency, i.triage.minor,
        i.triage.needs_review, i.triage.overridden, (i.triage.red_flags || []).map((f) => f.cue), i.reason_nl,
        i.reason_detail_nl, i.triage.alert, i.triage.returned])]);
  }

  function render(items) {
    const body = $("queue-body");
    const blocked = claimBlockedText();
    const sig = signature(items, blocked);
    const known = state.known;
    state.known = new Set(items.map((i) => i.chat_id));
    if (sig !== state.signature) {
      state.signature = sig;
      // Keep keyboard focus on the same control across re-renders.
      const active = document.activeElement;
      const focus = active && body.contains(active) && active.dataset.chatId
        ? { id: active.dataset.chatId, action: active.dataset.action } : null;
      const focusSummary = active && body.contains(active) && active.tagName === "SUMMARY"
        ? active.closest("details").dataset.chatId : null;
      clear(body);
      for (const item of items) body.append(row(item, known !== null && !known.has(item.chat_id), blocked));
      if (focus) {
        const again = body.querySelector(`button[data-chat-id="${CSS.escape(focus.id)}"][data-action="${focus.action}"]:not([disabled])`) ||
          body.querySelector(`button[data-chat-id="${CSS.escape(focus.id)}"][data-action="open"]`);
        if (again) again.focus(); else $("queue-title").focus();
      } else if (focusSummary) {
        const again = body.querySelector(`details[data-chat-id="${CSS.escape(focusSummary)}"] summary`);
        if (again) again.focus();
      }
    }
    show($("queue-empty"), items.length === 0);
    show($("queue-table"), items.length > 0);
    renderCounts(items);
    updateAcuteAlert(items, known);
  }

  function renderCounts(items) {
    const by = {};
    for (const i of items) by[i.triage.urgency] = (by[i.triage.urgency] || 0) + 1;
    const parts = ["acute", "high", "normal", "low"].filter((u) => by[u]).map((u) => `${by[u]} ${nl("urgency", u)}`);
    const text = items.length === 0 ? "Geen wachtende chats"
      : `${items.length} ${items.length === 1 ? "chat wacht" : "chats wachten"}: ${parts.join(", ")}`;
    if ($("queue-counts").textContent !== text) $("queue-counts").textContent = text;
  }

  function tick() {
    if (!state.fetchedAt) return;
    const byId = new Map(state.items.map((i) => [i.chat_id, i]));
    for (const span of document.querySelectorAll("#queue-body .wait")) {
      const item = byId.get(span.dataset.chatId);
      if (item) span.textContent = UI.duration(waitingNow(item));
    }
  }

  async function poll() {
    clearTimeout(state.pollTimer);
    try {
      const data = await api("GET", "/v1/queue", null, { timeout: 8000 });
      state.items = data.items || [];
      state.fetchedAt = performance.now();
      state.failures = 0;
      $("queue-error").textContent = "";
      render(state.items);
      state.polls += 1;
      $("queue-live").classList.remove("offline");
      $("queue-live-text").textContent = `Live · bijgewerkt om ${UI.time(data.generated_at)}`;
    } catch (err) {
      state.failures += 1;
      $("queue-live").classList.add("offline");
      $("queue-live-text").textContent = "Geen verbinding";
      if (err.status === 401) return;  // common.js shows the sign-in form
      if (state.failures >= 2) $("queue-error").textContent = UI.errorText(err);
    }
    if (state.polls % 2 === 1 || !state.claimedAvailable) pollClaimed();
    state.pollTimer = setTimeout(poll, POLL_MS);
  }

  /* ---- chats in hand: mine and the team's ---------------------------------------------------- */

  async function pollClaimed() {
    if (!state.claimedAvailable && state.polls % 15 !== 0) return;  // not offered (yet): ask now and then
    try {
      const data = await api("GET", "/v1/chats?status=claimed", null, { timeout: 8000 });
      state.claimedAvailable = true;
      state.claimed = data.items || [];
    } catch (err) {
      if (err.status === 401) return;
      if ([404, 405, 422].includes(err.status)) state.claimedAvailable = false;
      return;
    }
    renderClaimed();
  }

  function renderClaimed() {
    const me = session.name;
    const mine = state.claimed.filter(isMine);
    const team = state.claimed.filter((c) => !isMine(c));
    const isAdmin = state.me && state.me.role === "admin";
    const sig = JSON.stringify([me, isAdmin, state.current, state.claimed.map((c) => [c.chat_id, c.claimed_by,
      c.claimed_key, c.claimed_name,
      c.claimed_at, c.last_seen_at, c.preview, c.triage.urgency, c.triage.minor, c.triage.alert, c.message_count])]);
    if (sig === state.claimedSignature) return;
    state.claimedSignature = sig;
    const active = document.activeElement;
    const inLists = active && ($("mine-list").contains(active) || $("team-body").contains(active));
    const focus = inLists && active.dataset.chatId ? { id: active.dataset.chatId, action: active.dataset.action } : null;

    const list = clear($("mine-list"));
    for (const c of mine) {
      const isOpen = state.current && state.current.chat_id === c.chat_id;
      list.append(el("li", { class: `mine-item${isOpen ? " is-open" : ""}`, dataset: { chatId: c.chat_id } },
        el("div", { class: "badges" }, triageBadges(c.triage)),
        el("span", { class: "mine-what" }, `Chat ${c.chat_id} · geclaimd om ${UI.time(c.claimed_at)} · ` +
          `${c.message_count} ${c.message_count === 1 ? "bericht" : "berichten"}`),
        c.triage.alert && c.triage.alert.text_nl ? el("span", { class: "row-alert" }, say(c.triage.alert.text_nl)) : null,
        isOpen ? el("span", { class: "muted" }, "(geopend)")
          : el("button", { type: "button", class: "btn btn-small", dataset: { action: "open", chatId: c.chat_id },
            "aria-label": `Openen: mijn chat ${c.chat_id}` }, "Openen")));
    }
    show($("mine-empty"), mine.length === 0);

    const body = clear($("team-body"));
    for (const c of team) {
      const actions = [el("button", { type: "button", class: "btn btn-small", dataset: { action: "open", chatId: c.chat_id },
        "aria-label": `Openen: chat ${c.chat_id}, bij ${holder(c)}` }, "Openen")];
      if (isAdmin) {
        actions.push(
          el("button", { type: "button", class: "btn btn-small", dataset: { action: "admin-release", chatId: c.chat_id },
            "aria-label": `Vrijgeven: chat ${c.chat_id}, nu bij ${holder(c)}` }, "Vrijgeven"),
          el("button", { type: "button", class: "btn btn-small", dataset: { action: "reassign", chatId: c.chat_id },
            "aria-label": `Overdragen aan…: chat ${c.chat_id}, nu bij ${holder(c)}` }, "Overdragen aan…"));
      }
      body.append(el("tr", { class: `urg-${c.triage.urgency}`, dataset: { chatId: c.chat_id } },
        el("td", { class: "col-urg" }, el("div", { class: "badges" }, triageBadges(c.triage))),
        el("td", { class: "col-who" }, `in behandeling bij ${holder(c)}`,
          el("span", { class: "muted small block" }, `sinds ${UI.time(c.claimed_at)}` +
            (c.last_seen_at ? `, laatst actief om ${UI.time(c.last_seen_at)}` : ""))),
        el("td", { class: "col-text" }, el("span", { class: "visually-hidden" }, `Chat ${c.chat_id}: `),
          previewNode(c.preview, c.triage.red_flags)),
        el("td", { class: "col-act-wide" }, el("div", { class: "row-actions" }, actions))));
    }
    show($("team-table"), team.length > 0);
    show($("team-empty"), team.length === 0);
    if (focus) {
      const again = document.querySelector(`#mine-list button[data-chat-id="${CSS.escape(focus.id)}"][data-action="${focus.action}"], ` +
        `#team-body button[data-chat-id="${CSS.escape(focus.id)}"][data-action="${focus.action}"]`);
      if (again) {
        again.focus();
      } else {
        $("mine-title").setAttribute("tabindex", "-1");
        $("mine-title").focus();
      }
    }
    // The claim buttons depend on what this advisor holds.
    render(state.items);
  }

  /* ---- the acute alert ----------------------------------------------------------------------- */

  function unseenAcute(items) {
    return items.filter((i) => i.triage.urgency === "acute" && !acknowledged.has(alertKey(i)));
  }

  function updateAcuteAlert(items, known) {
    const open = unseenAcute(items);
    const sig = open.map(alertKey).join(",") + "#" + open.map((i) => i.position).join(",");
    const banner = $("acute-alert");
    const openIds = new Set(open.map((i) => i.chat_id));
    for (const tr of document.querySelectorAll("#queue-body tr")) {
      tr.classList.toggle("unseen-acute", openIds.has(tr.dataset.chatId));
    }
    if (sig === state.alertSignature) return;
    state.alertSignature = sig;
    if (!open.length) {
      show(banner, false);
      stopTitleFlash();
      return;
    }
    const first = open[0];
    const t = first.triage;
    const flags = [...new Set((t.red_flags || []).map((f) => f.label_nl || nl("red_flag", f.cue)))];
    $("acute-alert-title").textContent = "Acute chat in de wachtrij" +
      (open.length > 1 ? ` (nog ${open.length - 1} ${open.length === 2 ? "andere" : "andere"} niet gezien)` : "");
    const parts = [`Chat ${first.chat_id} staat op plaats ${first.position}` + (t.minor ? ", minderjarig" : "") + "."];
    if (t.alert && t.alert.text_nl) parts.push(say(t.alert.text_nl));
    if (flags.length) parts.push(`Rode vlaggen: ${flags.join(", ")}.`);
    if (first.reason_nl) parts.push(say(first.reason_nl));
    $("acute-alert-detail").textContent = parts.join(" ");
    $("acute-goto").dataset.chatId = first.chat_id;
    $("acute-ack").dataset.key = alertKey(first);
    show(banner, true);
    startTitleFlash(open.length);
    const fresh = open.filter((i) => !state.alerted.has(alertKey(i)));
    for (const i of open) state.alerted.add(alertKey(i));
    if (fresh.length && known !== null) {
      beep();
      notify(fresh[0]);
    }
  }

  function acknowledge(key) {
    if (!key) return;
    acknowledged.add(key);
    saveAcknowledged();
    state.alertSignature = null;
    updateAcuteAlert(state.items, state.known);
  }

  function acknowledgeChat(chatId) {
    const item = state.items.find((i) => i.chat_id === chatId);
    if (item) acknowledge(alertKey(item));
  }

  function startTitleFlash(count) {
    stopTitleFlash();
    const alertTitle = `⚠ ${count === 1 ? "ACUTE CHAT" : count + " ACUTE CHATS"} · Wachtrij`;
    let on = true;
    document.title = alertTitle;
    state.titleTimer = setInterval(() => {
      on = !on;
      document.title = on ? alertTitle : baseTitle;
    }, 1000);
  }

  function stopTitleFlash() {
    clearInterval(state.titleTimer);
    state.titleTimer = null;
    document.title = baseTitle;
  }

  let audio = null;
  function beep() {
    if (!$("sound-toggle").checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const now = audio.currentTime;
      for (const [i, freq] of [[0, 880], [1, 660], [2, 880]]) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.3, now + i * 0.25 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.25 + 0.2);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.25);
        osc.stop(now + i * 0.25 + 0.22);
      }
    } catch (e) { /* no sound available: the banner and the title still show */ }
  }

  /** A browser notification for an acute arrival or a new alert, when the advisor asked for them. */
  function notify(item) {
    if (!$("notify-toggle").checked || !("Notification" in window) || Notification.permission !== "granted") return;
    const t = item.triage;
    const body = t.alert && t.alert.text_nl ? say(t.alert.text_nl)
      : `Chat ${item.chat_id} staat op plaats ${item.position}.`;
    try {
      const n = new Notification("Acute chat in de wachtrij", { body, tag: alertKey(item) });
      n.onclick = () => { window.focus(); focusChat(item.chat_id); };
    } catch (e) { /* notifications not available here: the banner still shows */ }
  }

  async function toggleNotify(event) {
    const box = event.target;
    if (!box.checked) { sessionStorage.setItem(NOTIFY_KEY, "0"); return; }
    if (!("Notification" in window)) {
      box.checked = false;
      UI.toast("Deze browser kan geen meldingen tonen.");
      return;
    }
    let permission = Notification.permission;
    if (permission !== "granted") {
      try { permission = await Notification.requestPermission(); } catch (e) { permission = "denied"; }
    }
    if (permission !== "granted") {
      box.checked = false;
      sessionStorage.setItem(NOTIFY_KEY, "0");
      UI.toast("De browser staat geen meldingen toe. U ziet acute chats wel in de rode balk.");
      return;
    }
    sessionStorage.setItem(NOTIFY_KEY, "1");
    UI.toast("U krijgt een melding als er een acute chat binnenkomt.");
  }

  /* ---- the open chat ---------------------------------------------------------------------------- */

  function setCurrent(value) {
    state.current = value;
    writeJson(CURRENT_KEY, value);
  }

  function chatPath(id, suffix) {
    return `/v1/chats/${enc(id)}${suffix || ""}`;
  }

  /** Opens a chat in the detail pane (read-only unless this advisor holds it). */
  async function openChat(chatId, opts) {
    const options = opts || {};
    try {
      const chat = await api("GET", chatPath(chatId));
      if (chat.status === "closed" || chat.status === "left") {
        UI.toast(chat.status === "left" ? `De chatter van chat ${chatId} is vertrokken.` : `Chat ${chatId} is afgesloten.`);
        return;
      }
      const mode = chat.status === "claimed" && isMine(chat) ? "claimed" : "read";
      if (!state.current || state.current.chat_id !== chatId) resetDetail();
      setCurrent({ chat_id: chatId, mode });
      showChat(chat);
      if (options.focus !== false) $("detail-title").focus();
      acknowledgeChat(chatId);
      render(state.items);
      renderClaimed();
      scheduleChatPoll();
    } catch (err) {
      UI.toast(err.status === 404 ? `Chat ${chatId} bestaat niet meer.` : UI.errorText(err));
    }
  }

  async function claim(chatId) {
    const blocked = claimBlockedText();
    const mine = myChatIds();
    if (blocked && !mine.includes(chatId)) {
      UI.toast(blocked);
      return;
    }
    try {
      const chat = await api("POST", chatPath(chatId, "/claim"), session.name ? { advisor: session.name } : {});
      if (chat.claim_timeout_seconds) state.claimTimeoutMs = chat.claim_timeout_seconds * 1000;
      acknowledgeChat(chatId);
      if (!state.current || state.current.chat_id !== chatId) resetDetail();
      setCurrent({ chat_id: chatId, mode: "claimed" });
      showChat(chat);
      $("detail-title").focus();
      UI.toast(`U heeft chat ${chatId} geclaimd.`);
      refreshChat();  // the claim answer has no history: fetch the full detail
      pollClaimed();
      scheduleChatPoll();
    } catch (err) {
      if (err.status === 409 && ["already_claimed", "chat_not_waiting"].includes(err.code)) {
        await lostClaim(chatId, err);
      } else {
        UI.toast(UI.errorText(err));
      }
    }
    poll();
  }

  /** Someone else was first: say who. */
  async function lostClaim(chatId, err) {
    let text = UI.errorText(err);
    try {
      const chat = await api("GET", chatPath(chatId));
      if (chat.status === "claimed" && chat.claimed_by) {
        text = isMine(chat)
          ? `U heeft chat ${chatId} al geclaimd (in een ander tabblad of venster).`
          : `Chat ${chatId} is al geclaimd door ${holder(chat)}.`;
      } else if (chat.status === "closed") {
        text = `Chat ${chatId} is al afgesloten.`;
      } else if (chat.status === "left") {
        text = `De chatter van chat ${chatId} is vertrokken.`;
      }
    } catch (e) { /* keep the general message */ }
    UI.toast(text);
    if (state.current && state.current.chat_id === chatId) $("detail-notice").textContent = text;
  }

  function resetDetail() {
    state.chat = null;
    state.shownSeqs = new Set();
    state.detailParts = {};
    state.alertShownAt = null;
    clear($("detail-messages"));
    clear($("detail-alert"));
    $("detail-live").textContent = "";
    $("detail-scroll").scrollTop = 0;
  }

  function clearDetail(message) {
    setCurrent(null);
    resetDetail();
    clearTimeout(state.chatTimer);
    show($("detail-body"), false);
    show($("detail-empty"), true);
    $("detail-title").textContent = "Chat";
    $("detail-status").textContent = "";
    if (message) UI.toast(message);
    state.claimedSignature = "";
    renderClaimed();
    render(state.items);
  }

  function statusLine(chat, mode) {
    const count = `${chat.message_count} ${chat.message_count === 1 ? "bericht" : "berichten"}`;
    if (chat.status === "claimed") {
      const by = `${holder(chat)}${isMine(chat) ? " (u)" : ""}`;
      return `Geclaimd door ${by} om ${UI.time(chat.claimed_at)} · ` +
        `binnengekomen om ${UI.time(chat.received_at)} · ${count}` + (mode === "read" ? " · alleen lezen" : "");
    }
    if (chat.status === "waiting") {
      return `Wacht in de wachtrij${chat.position ? ` op plaats ${chat.position}` : ""} · binnengekomen om ` +
        `${UI.time(chat.received_at)} · ${count} · nog niet geclaimd: u leest mee`;
    }
    return `Status: ${nl("status", chat.status)}`;
  }

  /** The one line under the badges: why the urgency is what it is. */
  function oneLine(chat) {
    const t = chat.triage, p = chat.prediction || {};
    const flags = [...new Set((t.red_flags || p.red_flags || []).map((f) => f.label_nl || nl("red_flag", f.cue)))];
    const parts = [];
    const severity = t.urgency === "acute" && t.severity_nl ? say(t.severity_nl) : "";
    if (severity) parts.push(/[.!?]$/.test(severity) ? severity : `${severity}.`);
    else if (chat.reason_nl) parts.push(say(chat.reason_nl));
    if (!severity || !flags.every((f) => severity.includes(f))) {
      parts.push(flags.length ? `Rode vlaggen: ${flags.join(", ")}.` : "Geen rode vlaggen gevonden.");
    }
    if (t.overridden && t.overridden.length && chat.override) {
      parts.push(`Aangepast door ${who(chat.override.advisor, chat.override.name) || "een adviseur"}.`);
    }
    return parts.join(" ");
  }

  function showChat(chat) {
    state.chat = chat;
    const mode = state.current ? state.current.mode : "read";
    const t = chat.triage, p = chat.prediction || {};
    show($("detail-empty"), false);
    show($("detail-body"), true);
    $("detail-title").textContent = `Chat ${chat.chat_id}`;
    $("detail-status").textContent = statusLine(chat, mode);
    $("detail-notice").textContent = "";

    const badges = clear($("detail-badges"));
    badges.append(UI.urgencyBadge(t.urgency), UI.badge("role", nl("role", t.role)),
      t.minor ? UI.badge("minor", "minderjarig") : UI.badge("adult", "volwassen"));
    if (t.needs_review) badges.append(UI.badge("review", "controle nodig"));
    if (t.overridden && t.overridden.length) {
      badges.append(UI.badge("override", `aangepast: ${t.overridden.map((f) => nl("head", f)).join(", ")}`));
    }
    for (const topic of t.topics || []) badges.append(UI.badge("topic", nl("topic", topic)));
    $("detail-oneline").textContent = oneLine(chat);

    renderAlert(t.alert);
    renderPrevious(chat);
    renderMessages(chat, t.red_flags || p.red_flags || []);
    renderGuidance(chat.guidance || []);
    renderExplanation(chat);
    if (chat.history) renderHistory(chat.history);
    renderActions(chat, mode);
  }

  function renderAlert(alert) {
    const box = $("detail-alert");
    const at = alert && alert.at ? alert.at : null;
    if (at === state.alertShownAt) return;
    state.alertShownAt = at;
    clear(box);
    if (!alert || !alert.text_nl) return;
    // Inserted anew for each new alert, so that screen readers announce it (role="alert").
    box.append(el("strong", {}, "Let op: "), say(alert.text_nl), el("span", { class: "muted-inverse" }, ` (${UI.time(alert.at)})`));
  }

  /** A returning client (the platform reused its chat id): their earlier conversations, newest
   * first, with when, how they ended and their triage, so the advisor knows there was contact. */
  function renderPrevious(chat) {
    const earlier = Array.isArray(chat.previous) ? chat.previous : [];
    const box = $("detail-previous");
    const sig = JSON.stringify(earlier);
    if (state.detailParts.previous === sig) return;
    state.detailParts.previous = sig;
    clear(box);
    show(box, earlier.length > 0);
    if (!earlier.length) return;
    box.append(el("h3", {}, earlier.length === 1 ? "Eerder contact" : `Eerder contact (${earlier.length} keer)`),
      el("ul", {}, earlier.map((p) => {
        const t = p.triage || {};
        const ended = p.status === "left"
          ? `de chatter vertrok op ${UI.dateTime(p.closed_at)}`
          : p.status === "closed" ? `afgesloten op ${UI.dateTime(p.closed_at)} (uitkomst: ${nl("outcome", p.outcome)})`
            : "nog niet afgesloten";
        const labels = [t.urgency ? nl("urgency", t.urgency) : null, t.role ? nl("role", t.role) : null,
          t.minor ? "minderjarig" : null].filter(Boolean);
        return el("li", { dataset: { chatId: p.chat_id } },
          `Chat ${p.chat_id}: binnengekomen op ${UI.dateTime(p.received_at)}, ${ended}. `,
          labels.length ? `Triage: ${labels.join(", ")}${t.overridden && t.overridden.length ? " (aangepast)" : ""}. ` : "",
          `${p.message_count} ${p.message_count === 1 ? "bericht" : "berichten"}` +
          (p.claimed_by ? `, behandeld door ${who(p.claimed_by, p.claimed_name)}.` : "."));
      })));
  }

  /** Every client message with its time; new ones are appended (and announced), never re-drawn. */
  function renderMessages(chat, flags) {
    const list = $("detail-messages");
    const messages = Array.isArray(chat.messages) ? chat.messages : null;
    if (!messages) {
      // A back end without `messages`: the opener preview is all there is.
      if (!list.childElementCount) {
        const preview = chat.preview || (state.items.find((i) => i.chat_id === chat.chat_id) || {}).preview;
        list.append(el("li", { class: "message" },
          preview ? UI.highlight(preview, UI.flagSpans(preview, flags))
            : el("span", { class: "muted" }, "De berichten zijn niet beschikbaar.")));
      }
      return;
    }
    const fresh = [];
    const firstDraw = state.shownSeqs.size === 0;
    if (firstDraw) clear(list);
    for (const m of messages) {
      if (state.shownSeqs.has(m.seq)) continue;
      state.shownSeqs.add(m.seq);
      const text = m.text === null || m.text === undefined ? null : String(m.text);
      list.append(el("li", { class: "message", dataset: { seq: String(m.seq) } },
        el("span", { class: "message-meta" }, el("time", { datetime: m.received_at }, UI.time(m.received_at)),
          el("span", { class: "visually-hidden" }, `, bericht ${m.seq}: `)),
        text === null ? el("span", { class: "message-text muted" }, "(tekst verwijderd na afloop van de chat)")
          : el("span", { class: "message-text" }, UI.highlight(text, UI.flagSpans(text, flags)))));
      fresh.push({ ...m, text });
    }
    if (!messages.length && !list.childElementCount) {
      list.append(el("li", { class: "message muted" }, "Nog geen berichten."));
    }
    if (fresh.length) {
      list.scrollTop = list.scrollHeight;  // the newest message in view
      if (!firstDraw) {
        const last = fresh[fresh.length - 1];
        $("detail-live").textContent = fresh.length === 1
          ? `Nieuw bericht van de chatter om ${UI.time(last.received_at)}: ${last.text || ""}`
          : `${fresh.length} nieuwe berichten van de chatter. Laatste: ${last.text || ""}`;
        list.classList.add("has-new");
        setTimeout(() => list.classList.remove("has-new"), 2500);
      }
    }
  }

  function renderGuidance(cards) {
    const sig = JSON.stringify(cards.map((c) => c.id));
    if (state.detailParts.guidance === sig) return;
    state.detailParts.guidance = sig;
    const guidance = clear($("detail-guidance"));
    cards.forEach((card, index) => {
      guidance.append(el("details", { class: "gcard", open: index === 0, dataset: { cardId: card.id } },
        el("summary", {}, el("span", { class: "gcard-title" }, card.title)),
        el("div", { class: "gcard-body" }, UI.markdown(card.body)),
        el("p", { class: "gcard-reason" }, el("span", { class: "label" }, "Waarom deze kaart: "), say(card.reason)),
        el("p", { class: "gcard-source" }, `Bron: ${card.source}`)));
    });
    if (!cards.length) guidance.append(el("p", { class: "muted" }, "Geen adviezen voor deze chat."));
  }

  function renderExplanation(chat) {
    const t = chat.triage, p = chat.prediction || {};
    const sig = JSON.stringify([t, p.scores, p.explanation, chat.reason_nl, chat.reason_detail_nl]);
    if (state.detailParts.explain === sig) return;
    state.detailParts.explain = sig;

    const flags = clear($("detail-flags"));
    for (const f of t.red_flags || p.red_flags || []) {
      flags.append(el("li", {},
        el("strong", {}, f.label_nl || nl("red_flag", f.cue)), " · “", f.text, "” · ", nl("when", f.when),
        f.floor ? ` · minstens ${nl("urgency", f.floor)}` : ""));
    }
    show($("detail-flags-wrap"), (t.red_flags || p.red_flags || []).length > 0);

    const reason = clear($("detail-reason"));
    if (chat.reason_nl || chat.reason_detail_nl) {
      reason.append(el("span", { class: "label" }, "Plaats in de wachtrij: "), say(chat.reason_nl || ""),
        chat.reason_detail_nl ? ` ${say(chat.reason_detail_nl)}` : "");
    }
    show(reason, Boolean(chat.reason_nl || chat.reason_detail_nl));
    $("detail-summary").textContent = say(t.summary_nl);
    const reasons = (p.review_reasons || []).map((r) => say(r));
    const review = clear($("detail-review"));
    if (t.needs_review && reasons.length) {
      review.append(el("span", { class: "label" }, "Controle nodig omdat: "), reasons.join("; "), ".");
    }
    show(review, Boolean(t.needs_review && reasons.length));
    const explain = clear($("detail-explain"));
    const exp = p.explanation || {};
    for (const head of ["urgency", "role", "minor"]) {
      if (!p.scores) break;
      const chosen = head === "minor" ? String(p.minor) : p[head];
      const label = head === "minor" ? (p.minor ? "minderjarig" : "volwassen") : nl(head, chosen);
      const features = (exp[head] || []).slice(0, 4);
      const headNl = nl("head", head);
      explain.append(el("div", { class: "explain-head" },
        el("h4", {}, `${headNl[0].toUpperCase()}${headNl.slice(1)}: ${label}`),
        UI.scoreBars(head, (p.scores || {})[head], chosen),
        head === "urgency" ? UI.urgencyNote((p.scores || {}).urgency, p.urgency) : null,
        features.length ? el("p", { class: "drivers" }, el("span", { class: "label" }, "Vooral door: "),
          features.map((f) => say(UI.featureNl(f))).join("; ")) : null));
    }
    if (exp.urgency_raised_by && exp.urgency_raised_by.length) {
      explain.append(el("p", { class: "raised" }, `Urgentie verhoogd van ${nl("urgency", exp.urgency_model)} ` +
        `door rode vlaggen: ${exp.urgency_raised_by.map((c) => nl("red_flag", c)).join(", ")}.`));
    }
  }

  function historyText(event) {
    const d = event.data || {};
    const actor = who(event.actor, d.name) || "een adviseur";
    switch (event.kind) {
      case "created": return "Chat binnengekomen" +
        (d.previous_chat_id ? ` (de chatter was eerder hier: chat ${d.previous_chat_id})` : "");
      case "triage": return `Triage door het model: ${nl("urgency", d.urgency)}, ${nl("role", d.role)}` +
        (d.minor ? ", minderjarig" : "");
      case "claimed": return `Geclaimd door ${event.actor ? actor : d.advisor || "een adviseur"}`;
      case "released": return `Terug in de wachtrij gezet${event.actor || d.advisor ? ` door ${event.actor ? actor : d.advisor}` : ""}`;
      case "override": return `Aangepast door ${actor}: ` +
        Object.entries(d.set || {}).map(([k, v]) => `${nl("head", k)} ${k === "minor" ? (v ? "ja" : "nee") : nl(k, v)}`).join(", ") +
        ` (reden: ${d.reason || ""})`;
      case "override_lapsed": return "Aanpassing vervallen" +
        (d.fields && d.fields.length ? ` (${d.fields.map((f) => nl("head", f)).join(", ")})` : "") +
        `: ${d.reason_nl ? say(d.reason_nl) : "nieuwe berichten maakten de chat urgenter."}`;
      case "claim_expired": return `Claim van ${who(d.advisor, d.name) || "een adviseur"} verlopen: de chat stond te lang zonder ` +
        "teken van leven open en staat weer in de wachtrij";
      case "reassigned": return `Overgedragen van ${who(d.from, d.from_name) || "?"} aan ${who(d.to, d.to_name) || "?"}` +
        (event.actor ? ` door ${event.actor}` : "");
      case "message": return "Nieuw bericht van de chatter";
      case "closed": return `Afgesloten: ${nl("outcome", d.outcome)}${event.actor ? ` (door ${actor})` : ""}`;
      case "left": return "De chatter is vertrokken";
      case "disconnected": return `Automatisch afgesloten: verbinding verbroken (${d.abandoned_hours} uur geen activiteit)`;
      default: return `Gebeurtenis: ${String(event.kind).replace(/_/g, " ")}`;
    }
  }

  function renderHistory(history) {
    const sig = JSON.stringify(history.map((e) => [e.at, e.kind]));
    if (state.detailParts.history === sig) return;
    state.detailParts.history = sig;
    const list = clear($("detail-history"));
    for (const event of history) {
      list.append(el("li", {}, el("time", { datetime: event.at }, UI.time(event.at)), " ", historyText(event)));
    }
  }

  function renderActions(chat, mode) {
    const mine = mode === "claimed";
    const waiting = chat.status === "waiting";
    const blocked = claimBlockedText();
    show($("act-claim"), waiting);
    $("act-claim").disabled = Boolean(blocked);
    $("act-claim").title = blocked || "";
    $("act-claim").className = `btn ${chat.triage.urgency === "acute" ? "btn-danger" : "btn-primary"}`;
    for (const id of ["act-override", "act-close", "act-release"]) show($(id), mine);
    show($("act-dismiss"), !mine);
  }

  /** The open chat, fetched again: new messages, a new alert, or the claim gone. */
  async function refreshChat() {
    const cur = state.current;
    if (!cur) return;
    try {
      const chat = await api("GET", chatPath(cur.chat_id), null, { timeout: 8000 });
      if (!state.current || state.current.chat_id !== cur.chat_id) return;
      handleChatState(chat);
    } catch (err) {
      if (err.status === 404 && state.current && state.current.chat_id === cur.chat_id) {
        clearDetail(`Chat ${cur.chat_id} bestaat niet meer.`);
      }
    }
  }

  function handleChatState(chat) {
    const id = chat.chat_id;
    if (chat.claim_timeout_seconds) state.claimTimeoutMs = chat.claim_timeout_seconds * 1000;
    const mode = state.current.mode;
    if (chat.status === "left") { clearDetail(`De chatter van chat ${id} is vertrokken.`); return; }
    if (chat.status === "closed") { clearDetail(`Chat ${id} is afgesloten.`); return; }
    if (mode === "claimed" && !(chat.status === "claimed" && isMine(chat))) {
      const returned = chat.triage && chat.triage.returned;
      const text = chat.status === "claimed"
        ? `Chat ${id} is nu in behandeling bij ${holder(chat)}.`
        : (returned && returned.text_nl ? say(returned.text_nl) : `Chat ${id} staat weer in de wachtrij.`);
      setCurrent({ chat_id: id, mode: "read" });
      UI.toast(text);
      showChat(chat);
      $("detail-notice").textContent = text;
      return;
    }
    if (mode === "read" && chat.status === "claimed" && isMine(chat)) {
      setCurrent({ chat_id: id, mode: "claimed" });  // reassigned to this advisor
    }
    showChat(chat);
  }

  function scheduleChatPoll() {
    clearTimeout(state.chatTimer);
    state.chatTimer = setTimeout(async () => {
      await refreshChat();
      if (state.current) scheduleChatPoll();
    }, CHAT_POLL_MS);
  }

  /** Every 10 s (or a third of the server's claim timeout, if that is shorter): "I still have this
   * chat" for each chat this advisor holds. */
  async function heartbeat() {
    for (const id of myChatIds()) {
      try {
        const chat = await api("POST", chatPath(id, "/heartbeat"), {}, { timeout: 8000 });
        if (chat && chat.claim_timeout_seconds) state.claimTimeoutMs = chat.claim_timeout_seconds * 1000;
        if (state.current && state.current.chat_id === id && chat && chat.chat_id === id) handleChatState(chat);
      } catch (err) {
        if ((err.status === 409 || err.status === 403) && state.current && state.current.chat_id === id) refreshChat();
        // 404/405 from a server without heartbeats: nothing to do; the claim simply does not expire.
      }
    }
  }

  async function restoreCurrent() {
    if (!state.current) return;
    const id = state.current.chat_id;
    try {
      const chat = await api("GET", chatPath(id));
      if (chat.status === "claimed" || chat.status === "waiting") {
        setCurrent({ chat_id: id, mode: chat.status === "claimed" && isMine(chat) ? "claimed" : "read" });
        showChat(chat);
        scheduleChatPoll();
      } else {
        clearDetail();
      }
    } catch (err) {
      clearDetail();
    }
  }

  /* ---- dialogs and actions ----------------------------------------------------------------------- */

  function openDialog(id, focusId) {
    const dialog = $(id);
    if (dialog.open) return;
    dialog.showModal();
    if (focusId) $(focusId).focus();
  }

  function closeDialog(id) {
    const dialog = $(id);
    if (dialog.open) dialog.close();
  }

  function openOverride() {
    if (!state.current || state.current.mode !== "claimed") return;
    $("override-form").reset();
    $("ov-error").textContent = "";
    openDialog("override-dialog", "ov-urgency");
  }

  function openClose() {
    if (!state.current || state.current.mode !== "claimed") {
      UI.toast("U heeft geen geclaimde chat open om af te sluiten.");
      return;
    }
    $("close-outcome").value = "";
    $("close-error").textContent = "";
    $("close-outcome").removeAttribute("aria-invalid");
    openDialog("close-dialog", "close-outcome");
  }

  async function submitOverride(event) {
    event.preventDefault();
    const error = $("ov-error");
    error.textContent = "";
    if (!state.current) return;
    const body = { reason: $("ov-reason").value.trim(), advisor: session.name || null };
    if ($("ov-urgency").value) body.urgency = $("ov-urgency").value;
    if ($("ov-role").value) body.role = $("ov-role").value;
    if ($("ov-minor").value) body.minor = $("ov-minor").value === "true";
    if (!body.urgency && !body.role && body.minor === undefined) {
      error.textContent = "Kies minstens één aanpassing: urgentie, rol of minderjarig.";
      $("ov-urgency").focus();
      return;
    }
    if (!body.reason) {
      error.textContent = "Geef een reden voor de aanpassing.";
      $("ov-reason").focus();
      return;
    }
    try {
      const chat = await api("PATCH", chatPath(state.current.chat_id, "/triage"), body);
      closeDialog("override-dialog");
      handleChatState(chat);
      UI.toast("De triage is aangepast.");
      $("act-override").focus();
    } catch (err) {
      error.textContent = actionError(err);
      if (err.status === 403) refreshChat();
    }
  }

  async function submitClose(event) {
    event.preventDefault();
    if (!state.current) return;
    const error = $("close-error");
    error.textContent = "";
    const outcome = $("close-outcome").value;
    if (!outcome) {
      error.textContent = "Kies een uitkomst voordat u de chat afsluit.";
      $("close-outcome").setAttribute("aria-invalid", "true");
      $("close-outcome").focus();
      return;
    }
    const id = state.current.chat_id;
    try {
      await api("POST", chatPath(id, "/close"), { outcome, advisor: session.name || null });
      forget(id);
      closeDialog("close-dialog");
      clearDetail(`Chat ${id} is afgesloten.`);
      $("queue-title").focus();
      pollClaimed();
      if (state.pendingSignOut) continueSignOut();
    } catch (err) {
      error.textContent = actionError(err);
      if ([403, 404, 409].includes(err.status)) refreshChat();
    }
  }

  /** A chat this advisor no longer holds leaves the claimed list at once (the next poll agrees). */
  function forget(id) {
    state.claimed = state.claimed.filter((c) => c.chat_id !== id);
  }

  async function release() {
    if (!state.current) return;
    const id = state.current.chat_id;
    try {
      await api("POST", chatPath(id, "/release"), { advisor: session.name || null });
      forget(id);
      clearDetail(`Chat ${id} staat weer in de wachtrij.`);
      $("queue-title").focus();
      pollClaimed();
      poll();
    } catch (err) {
      UI.toast(actionError(err));
      if ([403, 404, 409].includes(err.status)) refreshChat();
    }
  }

  /* ---- admin: release or hand over a colleague's chat ------------------------------------------- */

  async function adminRelease(chatId) {
    const chat = state.claimed.find((c) => c.chat_id === chatId);
    try {
      await api("POST", chatPath(chatId, "/release"), {});
      UI.toast(`Chat ${chatId}${chat && chat.claimed_by ? ` van ${holder(chat)}` : ""} staat weer in de wachtrij.`);
    } catch (err) {
      UI.toast(UI.errorText(err));
    }
    pollClaimed();
    poll();
  }

  function openReassign(chatId) {
    const chat = state.claimed.find((c) => c.chat_id === chatId);
    $("reassign-form").reset();
    $("reassign-form").dataset.chatId = chatId;
    $("reassign-error").textContent = "";
    $("reassign-text").textContent = `Chat ${chatId} is nu in behandeling bij ${chat ? holder(chat) : "een collega"}. ` +
      "Aan wie draagt u hem over?";
    // The toegangscodes the team uses now, as suggestions (a chat goes to a code, not to a typed name).
    const labels = [...new Set(state.claimed.map((c) => c.claimed_by).filter(Boolean))].sort();
    clear($("reassign-keys")).append(...labels.map((label) => el("option", { value: label })));
    openDialog("reassign-dialog", "reassign-key");
  }

  async function submitReassign(event) {
    event.preventDefault();
    const chatId = $("reassign-form").dataset.chatId;
    const key = $("reassign-key").value.trim();
    const name = $("reassign-name").value.trim();
    if (!key) {
      $("reassign-error").textContent = "Vul de toegangscode in van de collega die de chat overneemt.";
      $("reassign-key").focus();
      return;
    }
    try {
      await api("POST", chatPath(chatId, "/reassign"), name ? { advisor: key, name } : { advisor: key });
      closeDialog("reassign-dialog");
      UI.toast(`Chat ${chatId} is overgedragen aan ${who(key, name)}.`);
      pollClaimed();
    } catch (err) {
      const codes = {
        unknown_advisor: "Er is geen adviseur met die toegangscode. Gebruik de naam van de code (zoals de beheerder " +
          "die aanmaakte) of de code-id (key-…).",
        ambiguous_advisor: "Meer toegangscodes hebben die naam. Gebruik de code-id (key-…).",
      };
      $("reassign-error").textContent = codes[err.code] || (err.status === 409
        ? "Deze chat is niet (meer) geclaimd; overdragen kan niet." : UI.errorText(err));
      if (codes[err.code]) $("reassign-key").focus();
    }
  }

  /* ---- signing out with a chat in hand ----------------------------------------------------------- */

  let signOutResolve = null;

  function signOutGuard() {
    const mine = myChatIds();
    if (!mine.length) return true;
    $("signout-text").textContent = mine.length === 1
      ? `Chat ${mine[0]} is nog door u geclaimd. Wat wilt u met deze chat doen voordat u uitlogt?`
      : `U heeft nog ${mine.length} chats in behandeling (${mine.join(", ")}). Wat wilt u ermee doen voordat u uitlogt?`;
    $("signout-error").textContent = "";
    show($("signout-close"), Boolean(state.current && state.current.mode === "claimed") && mine.length === 1);
    openDialog("signout-dialog", "signout-release");
    return new Promise((resolve) => { signOutResolve = resolve; });
  }

  function finishSignOutDialog(go) {
    const resolve = signOutResolve;
    signOutResolve = null;
    closeDialog("signout-dialog");
    if (resolve) resolve(go);
  }

  async function signOutRelease() {
    const failed = [];
    for (const id of myChatIds()) {
      try {
        await api("POST", chatPath(id, "/release"), { advisor: session.name || null });
      } catch (err) {
        if (err.status !== 404 && err.status !== 409) failed.push(id);
      }
    }
    if (failed.length) {
      $("signout-error").textContent = `Chat ${failed.join(", ")} kon niet terug in de wachtrij. Probeer het opnieuw.`;
      return;
    }
    setCurrent(null);
    finishSignOutDialog(true);
  }

  function signOutClose() {
    finishSignOutDialog(false);
    state.pendingSignOut = true;
    openClose();
  }

  function continueSignOut() {
    state.pendingSignOut = false;
    UI.signOut();
  }

  /* ---- keyboard ------------------------------------------------------------------------------------ */

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function selectRow(step) {
    const rowsNow = [...document.querySelectorAll("#queue-body tr")];
    if (!rowsNow.length) return;
    const ids = rowsNow.map((r) => r.dataset.chatId);
    let index = ids.indexOf(state.selected);
    if (index < 0) {
      const active = document.activeElement && document.activeElement.closest && document.activeElement.closest("#queue-body tr");
      index = active ? ids.indexOf(active.dataset.chatId) : -1;
    }
    index = index < 0 ? (step > 0 ? 0 : ids.length - 1) : Math.max(0, Math.min(ids.length - 1, index + step));
    state.selected = ids[index];
    for (const r of rowsNow) r.classList.toggle("is-selected", r.dataset.chatId === state.selected);
    focusChat(state.selected, "open");
  }

  function selectedChatId() {
    const active = document.activeElement;
    const rowEl = active && active.closest && active.closest("#queue-body tr");
    if (rowEl) return rowEl.dataset.chatId;
    if (state.selected && state.items.some((i) => i.chat_id === state.selected)) return state.selected;
    if (state.current && state.current.mode === "read" && state.chat && state.chat.status === "waiting") {
      return state.current.chat_id;
    }
    return null;
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;  // a dialog has the keyboard
    const key = event.key;
    if (key === "j" || key === "n") { event.preventDefault(); selectRow(1); }
    else if (key === "k") { event.preventDefault(); selectRow(-1); }
    else if (key === "c") {
      const id = selectedChatId();
      if (id) { event.preventDefault(); claim(id); } else UI.toast("Kies eerst een chat met j of k.");
    } else if (key === "a") { event.preventDefault(); openClose(); }
    else if (key === "t") { event.preventDefault(); openOverride(); }
    else if (key === "?") { event.preventDefault(); openDialog("shortcuts-dialog"); }
  }

  function focusChat(chatId, action) {
    const rowEl = document.querySelector(`#queue-body tr[data-chat-id="${CSS.escape(chatId)}"]`);
    if (!rowEl) return;
    const button = rowEl.querySelector(`button[data-action="${action || "claim"}"]:not([disabled])`) ||
      rowEl.querySelector('button[data-action="open"]');
    rowEl.scrollIntoView({ block: "nearest" });
    if (button) button.focus();
  }

  /* ---- start ----------------------------------------------------------------------------------- */

  function wire() {
    $("queue-title").setAttribute("tabindex", "-1");
    $("sound-toggle").checked = sessionStorage.getItem(SOUND_KEY) === "1";
    $("sound-toggle").addEventListener("change", (e) => {
      sessionStorage.setItem(SOUND_KEY, e.target.checked ? "1" : "0");
      if (e.target.checked) beep();
    });
    $("notify-toggle").checked = sessionStorage.getItem(NOTIFY_KEY) === "1" &&
      "Notification" in window && Notification.permission === "granted";
    $("notify-toggle").addEventListener("change", toggleNotify);
    $("shortcuts-btn").addEventListener("click", () => openDialog("shortcuts-dialog"));

    const onListClick = (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) {
        const id = button.dataset.chatId;
        const action = button.dataset.action;
        if (action === "claim") claim(id);
        else if (action === "open") { state.selected = id; openChat(id); }
        else if (action === "admin-release") adminRelease(id);
        else if (action === "reassign") openReassign(id);
        return;
      }
      if (event.target.closest("a, summary, details, input, select, textarea")) return;
      const rowEl = event.target.closest("tr[data-chat-id], li[data-chat-id]");
      if (rowEl) { state.selected = rowEl.dataset.chatId; openChat(rowEl.dataset.chatId); }
    };
    $("queue-body").addEventListener("click", onListClick);
    $("team-body").addEventListener("click", onListClick);
    $("mine-list").addEventListener("click", onListClick);

    $("acute-ack").addEventListener("click", () => {
      const target = $("acute-goto").dataset.chatId;
      acknowledge($("acute-ack").dataset.key);
      // The next unseen acute chat, if any, is in the banner now; otherwise focus the chat just seen.
      if ($("acute-alert").hidden && target) focusChat(target);
      else if (!$("acute-alert").hidden) $("acute-goto").focus();
    });
    $("acute-goto").addEventListener("click", () => {
      const target = $("acute-goto").dataset.chatId;
      acknowledge($("acute-ack").dataset.key);
      focusChat(target);
    });

    $("act-claim").addEventListener("click", () => { if (state.current) claim(state.current.chat_id); });
    $("act-override").addEventListener("click", openOverride);
    $("act-close").addEventListener("click", openClose);
    $("act-release").addEventListener("click", release);
    $("act-dismiss").addEventListener("click", () => { clearDetail(); $("queue-title").focus(); });
    $("override-form").addEventListener("submit", submitOverride);
    $("close-form").addEventListener("submit", submitClose);
    $("reassign-form").addEventListener("submit", submitReassign);
    $("close-outcome").addEventListener("change", () => {
      if ($("close-outcome").value) { $("close-error").textContent = ""; $("close-outcome").removeAttribute("aria-invalid"); }
    });
    for (const button of document.querySelectorAll("[data-dialog-cancel]")) {
      button.addEventListener("click", () => {
        const dialog = button.closest("dialog");
        if (dialog.id === "signout-dialog") finishSignOutDialog(false);
        else dialog.close();
      });
    }
    $("signout-dialog").addEventListener("cancel", (e) => { e.preventDefault(); finishSignOutDialog(false); });
    $("close-dialog").addEventListener("close", () => { if (!state.current) state.pendingSignOut = false; });
    $("close-dialog").addEventListener("cancel", () => { state.pendingSignOut = false; });
    $("signout-release").addEventListener("click", signOutRelease);
    $("signout-close").addEventListener("click", signOutClose);
    UI.setSignOutGuard(signOutGuard);
    document.addEventListener("keydown", onKey);
  }

  UI.start(async (me) => {
    state.me = me;
    wire();
    setInterval(tick, 1000);
    // Checked every second, so that a claim timeout learnt from the server applies at once.
    let lastBeat = 0;
    const beat = async () => {
      if (Date.now() - lastBeat >= Math.min(HEARTBEAT_MS, (state.claimTimeoutMs || Infinity) / 3)) {
        lastBeat = Date.now();
        await heartbeat();
      }
      setTimeout(beat, 1000);
    };
    beat();
    await restoreCurrent();
    await pollClaimed();
    await poll();
  });
})();
