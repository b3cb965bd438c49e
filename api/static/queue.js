/* The advisor page (/ui/queue): the live queue, the acute alert, claiming a chat with its guidance
 * cards and explanation, overriding the triage, releasing and closing. The queue is polled every
 * 2 seconds (GET /v1/queue); waiting times tick every second in between. */
"use strict";

(function () {
  const { el, clear, show, $, nl, api, session } = UI;
  const POLL_MS = 2000;
  const ACK_KEY = "triage.acuteSeen";
  const CURRENT_KEY = "triage.current";
  const SOUND_KEY = "triage.sound";
  const baseTitle = document.title;

  const state = {
    items: [],
    fetchedAt: 0,
    signature: "",
    known: null,            // chat ids of the previous poll (null before the first)
    alerted: new Set(),     // acute chats the alert has already announced (sound, flash)
    alertSignature: null,
    current: readJson(CURRENT_KEY),
    titleTimer: null,
    pollTimer: null,
    failures: 0,
    polls: 0,
  };

  function readJson(key) {
    try { return JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function writeJson(key, value) {
    if (value === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, JSON.stringify(value));
  }
  const acknowledged = new Set(readJson(ACK_KEY) || []);
  function saveAcknowledged() { writeJson(ACK_KEY, [...acknowledged].slice(-500)); }

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

  function row(item, isNew) {
    const t = item.triage;
    const line = firstLine(item.preview);
    const preview = line
      ? el("p", { class: "preview" }, UI.highlight(line, UI.flagSpans(line, t.red_flags)))
      : el("p", { class: "preview muted" }, "(geen voorbeeld)");
    const claim = el("button", {
      type: "button", class: `btn btn-small ${t.urgency === "acute" ? "btn-danger" : "btn-primary"}`,
      dataset: { action: "claim", chatId: item.chat_id },
      "aria-label": `Claimen: chat ${item.chat_id}, ${nl("urgency", t.urgency)}`,
    }, "Claimen");
    return el("tr", {
      class: `urg-${t.urgency}${isNew ? " is-new" : ""}`, dataset: { chatId: item.chat_id },
    },
      el("td", { class: "col-pos" }, String(item.position)),
      el("td", { class: "col-urg" }, el("div", { class: "badges" }, triageBadges(t))),
      el("td", { class: "col-wait" }, el("span", { class: "wait", dataset: { chatId: item.chat_id } },
        UI.duration(waitingNow(item)))),
      el("td", { class: "col-text" }, preview, flagChips(t.red_flags),
        el("p", { class: "reason" }, el("span", { class: "visually-hidden" }, "Plaats: "), item.reason_nl || "")),
      el("td", { class: "col-act" }, claim));
  }

  function signature(items) {
    return JSON.stringify(items.map((i) => [i.chat_id, i.position, i.preview, i.triage.urgency, i.triage.minor,
      i.triage.needs_review, i.triage.overridden, (i.triage.red_flags || []).map((f) => f.cue), i.reason_nl]));
  }

  function render(items) {
    const body = $("queue-body");
    const sig = signature(items);
    const known = state.known;
    state.known = new Set(items.map((i) => i.chat_id));
    if (sig !== state.signature) {
      state.signature = sig;
      // Keep keyboard focus on the same chat's button across re-renders.
      const active = document.activeElement;
      const focusId = active && body.contains(active) ? active.dataset.chatId : null;
      clear(body);
      for (const item of items) body.append(row(item, known !== null && !known.has(item.chat_id)));
      if (focusId) {
        const again = body.querySelector(`button[data-chat-id="${CSS.escape(focusId)}"]`);
        if (again) again.focus(); else $("queue-title").focus();
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
      if (state.current && state.polls % 5 === 0) checkCurrent();
      $("queue-live").classList.remove("offline");
      $("queue-live-text").textContent = `Live · bijgewerkt ${UI.time(data.generated_at)}`;
    } catch (err) {
      state.failures += 1;
      $("queue-live").classList.add("offline");
      $("queue-live-text").textContent = "Geen verbinding";
      if (err.status === 401) return;  // common.js shows the sign-in form
      if (state.failures >= 2) $("queue-error").textContent = UI.errorText(err);
    }
    state.pollTimer = setTimeout(poll, POLL_MS);
  }

  /* ---- the acute alert ----------------------------------------------------------------------- */

  function updateAcuteAlert(items, known) {
    const acute = items.filter((i) => i.triage.urgency === "acute");
    const open = acute.filter((i) => !acknowledged.has(i.chat_id));
    const sig = open.map((i) => i.chat_id).join(",");
    const banner = $("acute-alert");
    for (const tr of document.querySelectorAll("#queue-body tr")) {
      tr.classList.toggle("unseen-acute", open.some((i) => i.chat_id === tr.dataset.chatId));
    }
    if (sig === state.alertSignature) return;
    state.alertSignature = sig;
    if (!open.length) {
      show(banner, false);
      stopTitleFlash();
      return;
    }
    const first = open[0];
    const flags = [...new Set((first.triage.red_flags || []).map((f) => f.label_nl || nl("red_flag", f.cue)))];
    $("acute-alert-title").textContent = open.length === 1 ? "Acute chat in de wachtrij"
                                                           : `${open.length} acute chats in de wachtrij`;
    $("acute-alert-detail").textContent = `Chat ${first.chat_id} staat op plaats ${first.position}` +
      (first.triage.minor ? ", minderjarig" : "") + (flags.length ? `. Rode vlaggen: ${flags.join(", ")}.` : ".");
    $("acute-goto").dataset.chatId = first.chat_id;
    show(banner, true);
    startTitleFlash(open.length);
    const fresh = open.filter((i) => !state.alerted.has(i.chat_id));
    for (const i of open) state.alerted.add(i.chat_id);
    if (fresh.length && known !== null) beep();
  }

  function acknowledgeAll() {
    for (const i of state.items) if (i.triage.urgency === "acute") acknowledged.add(i.chat_id);
    saveAcknowledged();
    state.alertSignature = null;
    updateAcuteAlert(state.items, state.known);
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

  /* ---- a claimed chat ------------------------------------------------------------------------- */

  function setCurrent(value) {
    state.current = value;
    writeJson(CURRENT_KEY, value);
  }

  async function claim(chatId) {
    const item = state.items.find((i) => i.chat_id === chatId);
    if (state.current && state.current.chat_id !== chatId) {
      UI.toast(`U heeft chat ${state.current.chat_id} nog open. Rond die eerst af of zet hem terug.`);
      $("detail-title").focus();
      return;
    }
    try {
      const chat = await api("POST", `/v1/chats/${encodeURIComponent(chatId)}/claim`, { advisor: session.name });
      acknowledged.add(chatId);
      saveAcknowledged();
      setCurrent({ chat_id: chatId, preview: item ? item.preview : null });
      renderDetail(chat);
      $("detail-title").focus();
      UI.toast(`U heeft chat ${chatId} geclaimd.`);
      loadHistory(chatId);
    } catch (err) {
      UI.toast(UI.errorText(err));
    }
    poll();
  }

  async function loadHistory(chatId) {
    try {
      const chat = await api("GET", `/v1/chats/${encodeURIComponent(chatId)}`);
      if (state.current && state.current.chat_id === chatId) renderHistory(chat.history || []);
    } catch (err) { /* the history is extra; the rest of the panel stands */ }
  }

  function renderDetail(chat) {
    const t = chat.triage, p = chat.prediction;
    show($("detail-empty"), false);
    show($("detail-body"), true);
    $("detail-title").textContent = `Chat ${chat.chat_id}`;
    $("detail-status").textContent = chat.status === "claimed"
      ? `Geclaimd door ${chat.claimed_by || "u"} om ${UI.time(chat.claimed_at)} · binnengekomen om ${UI.time(chat.received_at)}` +
        ` · ${chat.message_count} ${chat.message_count === 1 ? "bericht" : "berichten"}`
      : `Status: ${nl("status", chat.status)}`;

    const badges = clear($("detail-badges"));
    badges.append(UI.urgencyBadge(t.urgency), UI.badge("role", nl("role", t.role)),
      t.minor ? UI.badge("minor", "minderjarig") : UI.badge("adult", "volwassen"));
    if (t.needs_review) badges.append(UI.badge("review", "controle nodig"));
    if (t.overridden && t.overridden.length) {
      badges.append(UI.badge("override", `aangepast: ${t.overridden.map((f) => nl("head", f)).join(", ")}`));
    }
    for (const topic of t.topics || []) badges.append(UI.badge("topic", nl("topic", topic)));

    const preview = state.current && state.current.chat_id === chat.chat_id ? state.current.preview : null;
    const opener = clear($("detail-opener"));
    if (preview) opener.append(UI.highlight(preview, UI.flagSpans(preview, p.red_flags)));
    else opener.append(el("span", { class: "muted" }, "Het begin van het bericht is niet meer beschikbaar."));

    const flags = clear($("detail-flags"));
    for (const f of p.red_flags || []) {
      flags.append(el("li", {},
        el("strong", {}, f.label_nl || nl("red_flag", f.cue)), " · “", f.text, "” · ", nl("when", f.when),
        f.floor ? ` · minstens ${nl("urgency", f.floor)}` : ""));
    }
    show($("detail-flags-wrap"), (p.red_flags || []).length > 0);

    const guidance = clear($("detail-guidance"));
    (chat.guidance || []).forEach((card, index) => {
      guidance.append(el("details", { class: "gcard", open: index < 2, dataset: { cardId: card.id } },
        el("summary", {}, el("span", { class: "gcard-title" }, card.title)),
        el("p", { class: "gcard-reason" }, el("span", { class: "label" }, "Waarom deze kaart: "), card.reason),
        el("div", { class: "gcard-body" }, UI.markdown(card.body)),
        el("p", { class: "gcard-source" }, `Bron: ${card.source}`)));
    });
    if (!(chat.guidance || []).length) guidance.append(el("p", { class: "muted" }, "Geen adviezen voor deze chat."));

    $("detail-summary").textContent = UI.textNl(t.summary_nl);
    const explain = clear($("detail-explain"));
    const exp = p.explanation || {};
    for (const head of ["urgency", "role", "minor"]) {
      const chosen = head === "minor" ? String(p.minor) : p[head];
      const label = head === "minor" ? (p.minor ? "minderjarig" : "volwassen") : nl(head, chosen);
      const features = (exp[head] || []).slice(0, 4);
      explain.append(el("div", { class: "explain-head" },
        el("h4", {}, `${UI.nl("head", head)[0].toUpperCase()}${UI.nl("head", head).slice(1)}: ${label}`),
        UI.scoreBars(head, (p.scores || {})[head], chosen),
        head === "urgency" ? UI.urgencyNote((p.scores || {}).urgency, p.urgency) : null,
        features.length ? el("p", { class: "drivers" }, el("span", { class: "label" }, "Vooral door: "),
          features.map(UI.featureNl).join("; ")) : null));
    }
    if (exp.urgency_raised_by && exp.urgency_raised_by.length) {
      explain.append(el("p", { class: "raised" }, `Urgentie verhoogd van ${nl("urgency", exp.urgency_model)} ` +
        `door rode vlaggen: ${exp.urgency_raised_by.map((c) => nl("red_flag", c)).join(", ")}.`));
    }
  }

  function renderHistory(history) {
    const list = clear($("detail-history"));
    for (const event of history) {
      const d = event.data || {};
      let text = event.kind;
      if (event.kind === "created") text = "Chat binnengekomen";
      else if (event.kind === "triage") text = `Triage door het model: ${nl("urgency", d.urgency)}, ${nl("role", d.role)}` +
        (d.minor ? ", minderjarig" : "");
      else if (event.kind === "claimed") text = `Geclaimd door ${event.actor || "?"}`;
      else if (event.kind === "released") text = "Terug in de wachtrij";
      else if (event.kind === "override") text = `Aangepast door ${event.actor || "?"}: ` +
        Object.entries(d.set || {}).map(([k, v]) => `${nl("head", k)} ${k === "minor" ? (v ? "ja" : "nee") : nl(k, v)}`).join(", ") +
        ` (reden: ${d.reason || ""})`;
      else if (event.kind === "override_lapsed") text = "Aanpassing vervallen: nieuwe berichten maakten de chat urgenter";
      else if (event.kind === "message") text = "Nieuw bericht van de chatter";
      else if (event.kind === "closed") text = `Afgesloten: ${nl("outcome", d.outcome)}`;
      else if (event.kind === "left") text = "De chatter is vertrokken";
      list.append(el("li", {}, el("time", { datetime: event.at }, UI.time(event.at)), " ", text));
    }
  }

  function clearDetail(message) {
    setCurrent(null);
    show($("detail-body"), false);
    show($("detail-empty"), true);
    $("detail-title").textContent = "Chat";
    if (message) UI.toast(message);
  }

  /** Every 10 s: is the open chat still ours? (The chatter may have left meanwhile.) */
  async function checkCurrent() {
    const id = state.current && state.current.chat_id;
    if (!id) return;
    try {
      const chat = await api("GET", `/v1/chats/${encodeURIComponent(id)}`);
      if (!state.current || state.current.chat_id !== id) return;
      if (chat.status === "left") clearDetail(`De chatter van chat ${id} is vertrokken.`);
      else if (chat.status === "closed") clearDetail(`Chat ${id} is afgesloten.`);
      else if (chat.status !== "claimed" || chat.claimed_by !== session.name) {
        clearDetail(`Chat ${id} is niet meer door u geclaimd.`);
      }
    } catch (err) {
      if (err.status === 404) clearDetail(`Chat ${id} bestaat niet meer.`);
    }
  }

  async function restoreCurrent() {
    if (!state.current) return;
    try {
      const chat = await api("GET", `/v1/chats/${encodeURIComponent(state.current.chat_id)}`);
      if (chat.status === "claimed" && chat.claimed_by === session.name) {
        renderDetail(chat);
        renderHistory(chat.history || []);
      } else {
        clearDetail();
      }
    } catch (err) {
      clearDetail();
    }
  }

  /* ---- forms ----------------------------------------------------------------------------------- */

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
      const chat = await api("PATCH", `/v1/chats/${encodeURIComponent(state.current.chat_id)}/triage`, body);
      renderDetail(chat);
      renderHistory(chat.history || []);
      $("override-form").reset();
      $("detail").scrollTo({ top: 0 });
      UI.toast("De triage is aangepast.");
    } catch (err) {
      error.textContent = UI.errorText(err);
    }
  }

  async function submitClose(event) {
    event.preventDefault();
    if (!state.current) return;
    $("close-error").textContent = "";
    const id = state.current.chat_id;
    try {
      await api("POST", `/v1/chats/${encodeURIComponent(id)}/close`,
        { outcome: $("close-outcome").value, advisor: session.name || null });
      clearDetail(`Chat ${id} is afgesloten.`);
      $("queue-title").focus();
    } catch (err) {
      $("close-error").textContent = UI.errorText(err);
      if (err.status === 404 || err.status === 409) checkCurrent();
    }
  }

  async function release() {
    if (!state.current) return;
    $("close-error").textContent = "";
    const id = state.current.chat_id;
    try {
      await api("POST", `/v1/chats/${encodeURIComponent(id)}/release`, { advisor: session.name || null });
      clearDetail(`Chat ${id} staat weer in de wachtrij.`);
      $("queue-title").focus();
      poll();
    } catch (err) {
      $("close-error").textContent = UI.errorText(err);
      if (err.status === 404 || err.status === 409) checkCurrent();
    }
  }

  function focusChat(chatId) {
    const button = document.querySelector(`#queue-body button[data-chat-id="${CSS.escape(chatId)}"]`);
    if (button) {
      button.closest("tr").scrollIntoView({ block: "center" });
      button.focus();
    }
  }

  /* ---- start ----------------------------------------------------------------------------------- */

  UI.start(async () => {
    $("queue-title").setAttribute("tabindex", "-1");
    $("sound-toggle").checked = sessionStorage.getItem(SOUND_KEY) === "1";
    $("sound-toggle").addEventListener("change", (e) => {
      sessionStorage.setItem(SOUND_KEY, e.target.checked ? "1" : "0");
      if (e.target.checked) beep();
    });
    $("queue-body").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action='claim']");
      if (button) claim(button.dataset.chatId);
    });
    $("acute-ack").addEventListener("click", () => {
      const target = $("acute-goto").dataset.chatId;
      acknowledgeAll();
      if (target) focusChat(target);
    });
    $("acute-goto").addEventListener("click", () => {
      const target = $("acute-goto").dataset.chatId;
      acknowledgeAll();
      focusChat(target);
    });
    $("override-form").addEventListener("submit", submitOverride);
    $("close-form").addEventListener("submit", submitClose);
    $("release-btn").addEventListener("click", release);
    setInterval(tick, 1000);
    await restoreCurrent();
    await poll();
  });
})();
