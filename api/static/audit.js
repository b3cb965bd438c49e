/* The reviewer page (/ui/audit): a filterable list of the model's predictions (audit records, with
 * redacted text), one record with the words that drove each decision highlighted, its scores as
 * bars, its red flags and a review form, and statistics with plots. Views are addressed by the URL
 * fragment: #lijst?filters, #record/<id>, #statistieken?filters. */
"use strict";

(function () {
  const { el, clear, show, $, nl, api, pct } = UI;
  const HEADS = ["urgency", "role", "minor"];
  const ORDER = {
    urgency: ["acute", "high", "normal", "low"],
    role: ["victim", "bystander", "perpetrator", "professional", "unknown"],
    minor: ["true", "false"],
  };
  const COLORS = {
    urgency: { acute: "#a50e1f", high: "#c05600", normal: "#2563eb", low: "#64748b" },
    role: { victim: "#0b5cad", bystander: "#7c3aed", perpetrator: "#b91c1c", professional: "#047857", unknown: "#64748b" },
    minor: { true: "#5b2a86", false: "#64748b" },
    head: { urgency: "#b35c00", role: "#0b5cad", minor: "#5b2a86", topics: "#1b7a43" },
  };
  const WORD_CLASSES = { urgency: "w-urgency", role: "w-role", minor: "w-minor", flags: "flag" };

  const state = { me: null, list: [], cursor: null, query: "", record: null, versions: [], formClean: null,
    hash: window.location.hash, leaving: false };

  const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

  /** A number the Dutch way: decimal comma, dot between thousands ("0,57", "1.234"). */
  function num(value, digits) {
    const d = digits || 0;
    return new Intl.NumberFormat("nl-NL", { minimumFractionDigits: d, maximumFractionDigits: d }).format(Number(value) || 0);
  }
  /** A share as a Dutch percentage with one decimal ("12,5%"); "–" when there is none. */
  const pct1 = (p) => (p === null || p === undefined ? "–" : `${num(p * 100, 1)}%`);

  let languageNames = null;
  try { languageNames = new Intl.DisplayNames(["nl"], { type: "language" }); } catch (e) { /* old browser */ }
  /** A language code as a Dutch name ("en" -> "Engels"). */
  function languageNl(code) {
    let name = null;
    try { name = languageNames ? languageNames.of(code) : null; } catch (e) { name = null; }
    return name && name !== code ? cap(name) : `een andere taal (${code})`;
  }
  /** The model's English bits in Dutch (UI.textNl), and language codes as names. */
  function textNl(text) {
    return UI.textNl(text)
      .replace(/(niet Nederlands \()([a-z]{2,3})(\))/g, (all, a, code, b) => `${a}${languageNl(code)}${b}`)
      .replace(/(taal: )([a-z]{2,3})\b/g, (all, a, code) => `${a}${languageNl(code)}`);
  }
  const minorNl = (v) => (v === true || v === "true" ? "minderjarig" : "volwassen");
  const labelNl = (head, v) => (head === "minor" ? minorNl(v) : nl(head, v));

  /* ---- routing -------------------------------------------------------------------------------- */

  function parseHash() {
    const hash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    const [path, query] = hash.split("?");
    return { path: path || "lijst", params: new URLSearchParams(query || "") };
  }

  function setTab(name) {
    for (const [id, key] of [["tab-list", "lijst"], ["tab-record", "record"], ["tab-stats", "statistieken"]]) {
      const tab = $(id);
      if (key === name) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
    }
    show($("view-list"), name === "lijst");
    show($("view-record"), name === "record");
    show($("view-stats"), name === "statistieken");
  }

  async function route(focus) {
    const { path, params } = parseHash();
    const record = path.match(/^record\/(\d+)$/);
    if (record) {
      setTab("record");
      await showRecord(Number(record[1]));
      if (focus) $("record-title").focus();
    } else if (path === "statistieken") {
      setTab("statistieken");
      await showStats(params);
      if (focus) $("stats-title").focus();
    } else {
      setTab("lijst");
      await showList(params);
      if (focus) $("list-title").focus();
    }
  }

  /* ---- the list ------------------------------------------------------------------------------ */

  const FILTER_FIELDS = ["urgency", "role", "minor", "check", "reviewed", "source", "model_version", "chat_id", "from", "to"];
  const CHAT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

  function dayStart(date, plusDays) {
    const d = new Date(`${date}T00:00:00`);
    if (Number.isNaN(d.getTime())) return null;
    d.setDate(d.getDate() + (plusDays || 0));
    return d.toISOString();
  }

  /** The API query for the page's filters (dates are whole local days; "tot en met" is inclusive). */
  function apiQuery(params, keys) {
    const q = new URLSearchParams();
    for (const key of keys) {
      const value = params.get(key);
      if (!value) continue;
      if (key === "check") q.set(value, "true");
      else if (key === "from") { const v = dayStart(value); if (v) q.set("from", v); }
      else if (key === "to") { const v = dayStart(value, 1); if (v) q.set("to", v); }
      else q.set(key, value);
    }
    return q;
  }

  function fillForm(form, params) {
    for (const field of form.elements) {
      if (field.name && field.type !== "submit" && field.type !== "button") field.value = params.get(field.name) || "";
    }
  }

  function formParams(form) {
    const params = new URLSearchParams();
    for (const field of form.elements) {
      const value = field.value.trim();
      if (field.name && value && field.type !== "submit" && field.type !== "button") params.set(field.name, value);
    }
    return params;
  }

  async function showList(params) {
    addVersions([params.get("model_version")]);
    fillForm($("filters"), params);
    const chatId = params.get("chat_id");
    if (chatId && !CHAT_ID.test(chatId)) {
      clear($("records-body"));
      show($("records-table"), false);
      show($("more"), false);
      $("list-count").textContent = "";
      $("list-error").textContent = "Een chatnummer bestaat uit letters, cijfers en . _ : - (hoogstens 64 tekens).";
      return;
    }
    const query = apiQuery(params, FILTER_FIELDS);
    query.set("limit", "50");
    state.query = query.toString();
    state.list = [];
    state.cursor = null;
    clear($("records-body"));
    await loadMore();
  }

  async function loadMore() {
    $("list-error").textContent = "";
    const query = new URLSearchParams(state.query);
    if (state.cursor) query.set("cursor", state.cursor);
    try {
      const data = await api("GET", `/v1/audit/predictions?${query}`);
      state.list.push(...data.items);
      state.cursor = data.next_cursor;
      const body = $("records-body");
      for (const item of data.items) body.append(recordRow(item));
      $("list-count").textContent = data.total === 0 ? "Geen voorspellingen gevonden met deze filters."
        : `${state.list.length} van ${data.total} ${data.total === 1 ? "voorspelling" : "voorspellingen"}`;
      show($("records-table"), state.list.length > 0);
      show($("more"), Boolean(state.cursor));
    } catch (err) {
      $("list-error").textContent = UI.errorText(err);
    }
  }

  function sourceNl(item) {
    if (item.source === "triage") return "losse triage";
    const what = item.source === "message" ? "nieuw bericht" : "nieuwe chat";
    return `wachtrij, ${what}${item.chat_id ? ` (${item.chat_id})` : ""}`;
  }

  function recordRow(item) {
    const attention = [];
    if (item.needs_review) attention.push(UI.badge("review", "controle nodig"));
    if (item.low_confidence) attention.push(UI.badge("adult", "lage zekerheid"));
    if (item.overridden) attention.push(UI.badge("override", "aangepast"));
    const reviewed = item.review_count
      ? [`${item.review_count}×`, item.gold_resolved ? UI.badge("agree", "vastgesteld") : null]
      : [el("span", { class: "muted" }, "nee")];
    return el("tr", { dataset: { recordId: String(item.id) } },
      el("td", {}, el("a", { href: `#record/${item.id}`, "aria-label": `Voorspelling ${item.id} bekijken` }, `#${item.id}`)),
      el("td", {}, UI.dateTime(item.created_at), el("br"), el("span", { class: "hint" }, sourceNl(item))),
      el("td", {}, el("div", { class: "badges" }, UI.urgencyBadge(item.urgency), UI.badge("role", nl("role", item.role)),
        item.minor ? UI.badge("minor", "minderjarig") : null)),
      el("td", {}, `rol ${pct(item.top_scores.role)}`, el("br"), `urgentie ${pct(item.top_scores.urgency)}`),
      el("td", {}, el("div", { class: "badges" }, attention)),
      el("td", {}, el("div", { class: "badges" }, reviewed)),
      el("td", { class: "col-text" }, item.preview));
  }

  /** A click anywhere on a row opens its record (the link in the first cell is the keyboard's way). */
  function rowClicked(event) {
    if (event.target.closest("a, button, input, select, textarea, summary")) return;
    if (String(window.getSelection ? window.getSelection() : "").trim()) return;  // selecting text, not opening
    const row = event.target.closest("tr[data-record-id]");
    if (row) navigate(`#record/${row.dataset.recordId}`);
  }

  /* ---- one record ------------------------------------------------------------------------------ */

  function escapeRe(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /** A regular expression for the words of a lemma feature ("mijn man", "wurgen"): each word's
   *  stem with any ending, optionally with the Dutch participle prefix ge-. */
  function lemmaPattern(phrase) {
    const words = phrase.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return null;
    const parts = words.map((word) => {
      if (/^\[[A-Z_]+\]$/.test(word)) return escapeRe(word);
      let stem = word.toLowerCase();
      if (stem.length > 4) stem = stem.replace(/(en|e|t|d)$/u, "");
      return `(?:ge)?${escapeRe(stem)}[\\p{L}]*`;
    });
    return new RegExp(`(?<![\\p{L}\\p{N}])${parts.join("\\s+")}(?![\\p{L}\\p{N}])`, "giu");
  }

  /** A regular expression for a word n-gram feature ("mijn man"): the words as typed. */
  function wordPattern(phrase) {
    const words = phrase.trim().split(/\s+/).filter(Boolean);
    if (!words.length) return null;
    return new RegExp(`(?<![\\p{L}\\p{N}])${words.map(escapeRe).join("\\s+")}(?![\\p{L}\\p{N}])`, "giu");
  }

  /** A regular expression for a character n-gram feature (a leading or trailing space marks a
   *  word boundary). */
  function charPattern(gram) {
    const core = gram.trim();
    if (core.length < 3) return null;
    const start = gram.startsWith(" ") ? "(?<![\\p{L}\\p{N}])" : "";
    const end = gram.endsWith(" ") ? "(?![\\p{L}\\p{N}])" : "";
    return new RegExp(`${start}${escapeRe(core)}${end}`, "giu");
  }

  const CUES = UI.config.cues || { words: {}, relations: {}, possessives: {}, patterns: {} };
  const WORD_EDGE_BEFORE = "(?<![\\p{L}\\p{N}'])", WORD_EDGE_AFTER = "(?![\\p{L}\\p{N}'])";

  function wordsPattern(words, before) {
    const list = (words || []).filter(Boolean).sort((a, b) => b.length - a.length).map(escapeRe);
    if (!list.length) return null;
    return new RegExp(`${WORD_EDGE_BEFORE}${before || ""}(?:${list.join("|")})${WORD_EDGE_AFTER}`, "giu");
  }

  /** Regular expressions for the words a linguistic cue feature stands for ("cue__time=now": the
   *  time words; "cue__poss1=partner": "mijn man", ...), from the model's own word lists. */
  function cuePatterns(name) {
    const [key, value] = name.split("=");
    const words = CUES.words || {};
    if (key === "time") return [wordsPattern(words[name])];
    if (key.startsWith("harm")) return [wordsPattern(words.harm)];
    if (key === "poss1" || key === "poss3") {
      const owners = ((CUES.possessives || {})[key] || []).map(escapeRe).join("|");
      const relation = (CUES.relations || {})[value];
      return owners && relation ? [wordsPattern(relation, `(?:${owners})\\s+`)] : [];
    }
    if (key === "age") return ((CUES.patterns || {}).age || []).map((p) => safeRegExp(p));
    if ((CUES.patterns || {})[key]) return CUES.patterns[key].map((p) => safeRegExp(p));
    if (words[key]) return [wordsPattern(words[key])];
    return [];
  }

  function safeRegExp(source) {
    try { return new RegExp(source, "gi"); } catch (e) { return null; }
  }

  /** The spans of the words behind one head's decision: word, lemma and character n-gram features where
   *  they occur, cue features through their word lists, red-flag cue features through the flags. */
  function driverSpans(text, head, features, flags) {
    const spans = [];
    for (const feature of features || []) {
      const [block, ...rest] = String(feature.feature || "").split("__");
      const name = rest.join("__");
      const note = `${nl("head", head)}: ${UI.featureNl(feature)}`;
      if (block === "cue" && /^flag(_when)?=/.test(name)) {
        const cue = name.startsWith("flag=") ? name.slice(5) : null;
        for (const s of UI.flagSpans(text, (flags || []).filter((f) => !cue || f.cue === cue))) {
          spans.push({ ...s, cls: WORD_CLASSES[head], note, tag: nl("head", head) });
        }
        continue;
      }
      const patterns = block === "lemma" ? [lemmaPattern(name)] : block === "word" ? [wordPattern(name)]
        : block === "char" ? [charPattern(name)]
        : block === "cue" ? cuePatterns(name) : [];
      for (const re of patterns) {
        if (!re) continue;
        let m;
        while ((m = re.exec(text)) !== null) {
          if (!m[0].length) { re.lastIndex += 1; continue; }
          spans.push({ start: m.index, end: m.index + m[0].length, cls: WORD_CLASSES[head], note,
            tag: nl("head", head) });
        }
      }
    }
    return spans;
  }

  function wordChoices() {
    return [...document.querySelectorAll("#word-heads input:checked")].map((i) => i.value);
  }

  function renderText() {
    const r = state.record;
    if (!r) return;
    const text = r.text || "";
    const chosen = wordChoices();
    const p = r.prediction || {};
    let spans = [];
    // Red flags first: where spans overlap, the first one keeps its colour.
    if (chosen.includes("flags")) spans = spans.concat(UI.flagSpans(text, p.red_flags));
    for (const head of HEADS) {
      if (chosen.includes(head)) spans = spans.concat(driverSpans(text, head, (r.explanation || {})[head], p.red_flags));
    }
    clear($("record-text")).append(UI.highlight(text, spans));
  }

  function buildWordChoices() {
    const box = $("word-heads");
    if (box.childElementCount) return;
    const legend = $("record-legend");
    for (const [value, label] of [["flags", "rode vlaggen"], ["urgency", "urgentie"], ["role", "rol"], ["minor", "minderjarig"]]) {
      const input = el("input", { type: "checkbox", value, checked: true, id: `words-${value}` });
      input.addEventListener("change", renderText);
      box.append(el("label", { class: "inline-check", for: `words-${value}` }, input, ` ${label}`));
      legend.append(el("li", {}, el("mark", { class: WORD_CLASSES[value] }, label)));
    }
  }

  function featureItem(feature) {
    const kind = feature.kind ? `${feature.kind}: ` : "";
    return el("li", {}, kind, UI.featureNl(feature), el("span", { class: "hint" }, ` (gewicht ${num(feature.weight, 2)})`));
  }

  async function showRecord(id) {
    $("record-error").textContent = "";
    $("tab-record").hidden = false;
    $("tab-record").setAttribute("href", `#record/${id}`);
    $("tab-record").textContent = `Voorspelling #${id}`;
    let r;
    try {
      r = await api("GET", `/v1/audit/predictions/${id}`);
    } catch (err) {
      state.record = null;
      $("record-title").textContent = `Voorspelling #${id}`;
      show($("record-body"), false);
      $("record-error").textContent = err.status === 404 ? "Deze voorspelling bestaat niet." : UI.errorText(err);
      return;
    }
    show($("record-body"), true);
    renderRecord(r);
  }

  function renderRecord(r) {
    state.record = r;
    const p = r.prediction || {};
    $("record-title").textContent = `Voorspelling #${r.id}`;
    $("record-meta").textContent = `${UI.dateTime(r.created_at)} · ${sourceNl(r)} · model ${r.model_version}` +
      (r.text_truncated ? " · alleen het laatste deel van de tekst is gebruikt" : "");

    const badges = clear($("record-badges"));
    badges.append(UI.urgencyBadge(r.urgency), UI.badge("role", nl("role", r.role)),
      r.minor ? UI.badge("minor", "minderjarig") : UI.badge("adult", "volwassen"));
    for (const t of r.topics || []) badges.append(UI.badge("topic", nl("topic", t)));
    if (r.needs_review) badges.append(UI.badge("review", "controle nodig"));
    if (r.low_confidence) badges.append(UI.badge("adult", "lage zekerheid"));
    if (r.overridden) badges.append(UI.badge("override", "aangepast door adviseur"));

    buildWordChoices();
    renderText();

    const flags = clear($("record-flags"));
    for (const f of p.red_flags || []) {
      flags.append(el("li", {}, el("strong", {}, f.label_nl || nl("red_flag", f.cue)), " · “", f.text, "” · ",
        nl("when", f.when), f.floor ? ` · minstens ${nl("urgency", f.floor)}` : ""));
    }
    if (!(p.red_flags || []).length) flags.append(el("li", { class: "muted" }, "Geen rode vlaggen gevonden."));

    $("record-summary").textContent = textNl((r.explanation || {}).summary_nl || "");
    const heads = clear($("record-heads"));
    for (const head of [...HEADS, "topics"]) {
      const chosen = head === "minor" ? String(r.minor) : head === "topics" ? r.topics : r[head];
      const title = head === "topics" ? "Onderwerpen"
        : `${cap(nl("head", head))}: ${labelNl(head, head === "minor" ? r.minor : r[head])}`;
      const features = (r.explanation || {})[head] || [];
      heads.append(el("div", { class: "head-box", dataset: { head } },
        el("h4", {}, title),
        UI.scoreBars(head, (p.scores || {})[head], chosen, head === "topics" ? { limit: 5 } : {}),
        head === "urgency" ? UI.urgencyNote((p.scores || {}).urgency, r.urgency) : null,
        features.length ? [el("p", { class: "drivers" }, el("span", { class: "label" }, "Doorslaggevend:")),
          el("ul", { class: "drivers-list" }, features.map(featureItem))] : null));
    }

    const extra = clear($("record-extra"));
    if ((r.review_reasons || []).length) {
      extra.append(el("h3", {}, "Waarom controle nodig"),
        el("ul", {}, r.review_reasons.map((x) => el("li", {}, textNl(x)))));
    }
    if ((r.overrides || []).length) {
      extra.append(el("h3", {}, "Aanpassingen door adviseurs"), el("ul", {}, r.overrides.map((o) => el("li", {},
        Object.entries(o.fields || o.set || {}).map(([k, v]) => `${nl("head", k)} ${labelNl(k, v)}`).join(", ") || "aanpassing",
        // advisor: the key's label; name: what the advisor typed at sign-in (self-declared)
        o.advisor ? ` door ${o.advisor}${o.name && o.name !== o.advisor ? ` (opgegeven naam: ${o.name})` : ""}` : "",
        o.reason ? ` (reden: ${o.reason})` : ""))));
    }
    if ((r.guidance || []).length) {
      extra.append(el("h3", {}, "Getoonde adviezen"), el("ul", {}, r.guidance.map((g) => el("li", {},
        el("strong", {}, g.title), g.reason ? ` · ${textNl(g.reason)}` : ""))));
    }

    fillReviewForm(r);
    renderReviews(r);
  }

  function ownReview(r) {
    const me = state.me || {};
    return (r.reviews || []).find((v) => me.key_id && v.reviewer === me.key_id) || null;
  }

  /* ---- the review form: independent, nothing preselected, no lost work ------------------------------ */

  const FORM_HEADS = [["urgency", "Urgentie"], ["role", "Rol van de schrijver"], ["minor", "Minderjarig"]];

  function topicBoxes() {
    return [...document.querySelectorAll("#rv-topics input[name='topic']")];
  }

  /** The form's current values, to tell a half-filled form from an untouched one. */
  function formSnapshot() {
    return JSON.stringify([$("rv-urgency").value, $("rv-role").value, $("rv-minor").value,
      topicBoxes().filter((b) => b.checked).map((b) => b.value), $("rv-no-topics").checked, $("rv-note").value]);
  }

  /** True when the open record's review form has changes that are not saved. */
  function reviewDirty() {
    return Boolean(state.record) && !$("view-record").hidden && state.formClean !== null &&
      formSnapshot() !== state.formClean;
  }

  function confirmLeave() {
    return window.confirm("Uw beoordeling is nog niet opgeslagen. Wilt u verdergaan zonder op te slaan? " +
      "Wat u hebt ingevuld, gaat dan verloren.");
  }

  function markInvalid(node, invalid) {
    const base = node.id === "rv-topics-set" ? "rv-topics-hint" : "rv-hint";
    if (invalid) {
      node.setAttribute("aria-invalid", "true");
      node.setAttribute("aria-describedby", `${base} rv-error`);  // the message names what is missing
    } else {
      node.removeAttribute("aria-invalid");
      node.setAttribute("aria-describedby", base);
    }
  }

  function fillReviewForm(r) {
    const mine = ownReview(r);
    // Nothing is preselected: agreeing with the model is a choice like any other. A reviewer who
    // already reviewed sees their own earlier answers.
    const labels = mine ? mine.labels : { urgency: "", role: "", minor: "", topics: [] };
    $("rv-urgency").value = labels.urgency;
    $("rv-role").value = labels.role;
    $("rv-minor").value = labels.minor === "" ? "" : String(labels.minor);
    for (const box of topicBoxes()) box.checked = (labels.topics || []).includes(box.value);
    $("rv-no-topics").checked = Boolean(mine) && !(labels.topics || []).length;
    $("rv-note").value = mine && mine.note ? mine.note : "";
    $("rv-error").textContent = "";
    for (const node of [$("rv-urgency"), $("rv-role"), $("rv-minor"), $("rv-topics-set")]) markInvalid(node, false);
    $("rv-info").textContent = mine ? "U heeft deze voorspelling al beoordeeld; opslaan vervangt uw beoordeling." : "";
    for (const [head, base] of FORM_HEADS) {
      document.querySelector(`label[for="rv-${head}"]`).textContent = `${base} (model: ${labelNl(head, r[head])})`;
    }
    const modelTopics = (r.topics || []).map((t) => nl("topic", t)).join(", ") || "geen";
    $("rv-topics-legend").textContent = `Onderwerpen (model: ${modelTopics})`;
    state.formClean = formSnapshot();
  }

  /** Other reviewers' verdicts and the gold labels: only after the reviewer's own review. */
  function reviewsHidden(r) {
    if (r.reviews_hidden) return true;
    return Boolean(state.me && state.me.role === "reviewer" && !ownReview(r));
  }

  function renderReviews(r) {
    const list = clear($("record-reviews"));
    const tie = $("record-tie");
    tie.hidden = true;
    tie.textContent = "";
    if (reviewsHidden(r)) {
      $("record-gold").textContent = !r.review_count ? "Nog niet beoordeeld."
        : "De beoordelingen van anderen en de vastgestelde labels ziet u zodra u uw eigen beoordeling hebt " +
          "opgeslagen. Zo beoordeelt iedereen onafhankelijk.";
      return;
    }
    const gold = r.gold || {};
    const goldText = !gold.reviews ? "Nog niet beoordeeld."
      : gold.resolved ? `Vastgesteld na ${gold.reviews} ${gold.reviews === 1 ? "beoordeling" : "beoordelingen"}: ` +
        `${labelNl("urgency", gold.urgency)}, ${labelNl("role", gold.role)}, ${labelNl("minor", gold.minor)}.`
      : `Nog niet vastgesteld: de beoordelingen verschillen over ${(gold.unresolved || []).map((h) => nl("head", h)).join(", ")}.` +
        " Er is nog een beoordeling nodig.";
    $("record-gold").textContent = goldText;
    if ((gold.tie_broken || []).includes("urgency")) {
      tie.textContent = "Gelijke stand over de urgentie: de urgentere waarde telt " +
        `(${labelNl("urgency", gold.urgency)}).`;
      tie.hidden = false;
    }
    let unnamed = 0;
    for (const v of r.reviews || []) {
      const verdicts = HEADS.map((h) => `${nl("head", h)} ${v[`${h}_ok`] ? "klopt" : `→ ${labelNl(h, v.labels[h])}`}`);
      if (!v.topics_ok) verdicts.push(`onderwerpen → ${(v.labels.topics || []).map((t) => nl("topic", t)).join(", ") || "geen"}`);
      // A key without a name is not shown by its technical id: other reviewers are numbered instead.
      const who = state.me && v.reviewer === state.me.key_id ? "u (deze toegangscode)"
        : v.reviewer_name || `beoordelaar ${String.fromCharCode(65 + (unnamed++ % 26))}`;
      list.append(el("li", {}, el("strong", {}, who), ` (${UI.dateTime(v.updated_at)}): `,
        verdicts.join("; "), v.note ? el("span", { class: "muted" }, ` · “${v.note}”`) : null));
    }
  }

  async function submitReview(event) {
    event.preventDefault();
    const r = state.record;
    if (!r) return;
    const error = $("rv-error");
    error.textContent = "";
    const topics = topicBoxes().filter((b) => b.checked).map((b) => b.value);
    // Every head needs an explicit choice; name the ones still missing.
    const missing = [];
    for (const [head, base] of FORM_HEADS) {
      const select = $(`rv-${head}`);
      markInvalid(select, !select.value);
      if (!select.value) missing.push({ name: base, focus: select });
    }
    const noTopics = !topics.length && !$("rv-no-topics").checked;
    markInvalid($("rv-topics-set"), noTopics);
    if (noTopics) missing.push({ name: "Onderwerpen", focus: topicBoxes()[0] || $("rv-no-topics") });
    if (missing.length) {
      const names = missing.map((m) => `‘${m.name}’`);
      const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} en ${names[names.length - 1]}`;
      error.textContent = `Kies nog een antwoord bij ${list}. Bent u het eens met het model, kies dan het antwoord ` +
        "van het model.";
      missing[0].focus.focus();
      return;
    }
    const values = { urgency: $("rv-urgency").value, role: $("rv-role").value, minor: $("rv-minor").value === "true" };
    const body = { role_ok: values.role === r.role, minor_ok: values.minor === r.minor, urgency_ok: values.urgency === r.urgency };
    const corrected = {};
    for (const head of HEADS) if (!body[`${head}_ok`]) corrected[head] = values[head];
    const modelTopics = [...(r.topics || [])].sort().join(",");
    if ([...topics].sort().join(",") !== modelTopics) corrected.topics = topics;
    if (Object.keys(corrected).length) body.corrected = corrected;
    const note = $("rv-note").value.trim();
    if (note) body.note = note;
    try {
      const updated = await api("POST", `/v1/audit/predictions/${r.id}/reviews`, body);
      renderRecord(updated);
      UI.toast("Uw beoordeling is opgeslagen.");
      $("record-reviews").setAttribute("tabindex", "-1");
    } catch (err) {
      error.textContent = UI.errorText(err);
    }
  }

  /** The topic boxes and "geen van deze onderwerpen" exclude each other. */
  function topicChanged(event) {
    const box = event.target;
    if (box.type !== "checkbox" || !box.checked) return;
    if (box.id === "rv-no-topics") for (const b of topicBoxes()) b.checked = false;
    else $("rv-no-topics").checked = false;
  }

  /** Go to another view, after asking when a review would be lost. */
  function navigate(hash) {
    if (reviewDirty() && !confirmLeave()) return false;
    state.leaving = true;  // asked already: the hashchange that follows does not ask again
    window.location.hash = hash;
    return true;
  }

  async function nextUnreviewed() {
    if (reviewDirty() && !confirmLeave()) return;
    const current = state.record ? state.record.id : null;
    try {
      const data = await api("GET", "/v1/audit/predictions?reviewed=false&limit=2");
      const next = data.items.find((i) => i.id !== current);
      if (next) {
        state.leaving = true;
        window.location.hash = `#record/${next.id}`;
      } else UI.toast("Er zijn geen voorspellingen meer zonder beoordeling.");
    } catch (err) {
      UI.toast(UI.errorText(err));
    }
  }

  /** A click on a link to another view of this page while a review is half filled asks first;
   *  staying cancels the click, so no history entry is added. */
  function linkClicked(event) {
    const link = event.target.closest && event.target.closest("a[href^='#']");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    if (link.getAttribute("href") === window.location.hash || !reviewDirty()) return;
    if (confirmLeave()) {
      state.leaving = true;
    } else {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  /** A hash change (the back button, a typed URL, a link) while a review is half filled asks first;
   *  staying puts the record's address back without a new history entry. */
  function hashChanged() {
    const leaving = state.leaving;
    state.leaving = false;
    if (!leaving && window.location.hash !== state.hash && reviewDirty() && !confirmLeave()) {
      history.replaceState(history.state, "", `${window.location.pathname}${window.location.search}${state.hash}`);
      return;
    }
    state.hash = window.location.hash;
    route(true);
  }

  function beforeUnload(event) {
    if (!reviewDirty()) return undefined;
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to ask
    return "";
  }

  /* ---- statistics and plots ------------------------------------------------------------------ */

  /** The top of a count axis with four whole-number steps (4, 8, 20, 40, 100, ...). */
  function niceMax(value) {
    const rough = Math.max(1, value / 4);
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    for (const step of [1, 2, 5, 10]) if (step * magnitude >= rough) return 4 * step * magnitude;
    return 40 * magnitude;
  }

  /** A bar chart as SVG (stacked or grouped) with a legend and the numbers as a table. */
  function barChart({ id, title, description, categories, series, stacked, percent }) {
    const W = 560, H = 240, left = 44, right = 8, top = 20, bottom = 34;  // room above for value labels
    const plotW = W - left - right, plotH = H - top - bottom;
    const totals = categories.map((_, i) => stacked ? series.reduce((s, x) => s + (x.values[i] || 0), 0)
                                                    : Math.max(0, ...series.map((x) => x.values[i] || 0)));
    const max = percent ? 1 : niceMax(Math.max(0, ...totals));
    const fmt = (v) => (v === null || v === undefined ? "–" : percent ? pct(v) : String(v));
    const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
    svg.append(el("svg:title", { id: `${id}-svgtitle` }, title));
    for (let t = 0; t <= 4; t += 1) {
      const v = (max * t) / 4, y = top + plotH - (plotH * t) / 4;
      svg.append(el("svg:line", { x1: left, x2: W - right, y1: y, y2: y, class: t ? "svg-grid" : "svg-axis" }));
      svg.append(el("svg:text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "svg-text" },
        percent ? `${Math.round(v * 100)}%` : num(v, Number.isInteger(v) ? 0 : 1)));
    }
    const band = plotW / Math.max(1, categories.length);
    const barW = Math.min(stacked ? 48 : 36 * series.length, band * 0.7);
    categories.forEach((cat, i) => {
      const x0 = left + band * i + (band - barW) / 2;
      let stackY = top + plotH;
      series.forEach((s, j) => {
        const v = s.values[i];
        if (v === null || v === undefined) return;
        const h = (plotH * v) / max;
        const w = stacked ? barW : barW / series.length;
        const x = stacked ? x0 : x0 + w * j;
        const y = stacked ? stackY - h : top + plotH - h;
        if (stacked) stackY -= h;
        const rect = el("svg:rect", { x, y, width: Math.max(0, w - (stacked ? 0 : 1)), height: Math.max(0, h), fill: s.color });
        rect.append(el("svg:title", {}, `${cat}: ${s.name} ${fmt(v)}`));
        svg.append(rect);
        if (!stacked && w >= 22) {  // the value above the bar (a 0 is otherwise invisible)
          svg.append(el("svg:text", { x: x + w / 2, y: y - 4, "text-anchor": "middle",
            class: "svg-text", "aria-hidden": "true" }, fmt(v)));
        }
      });
      svg.append(el("svg:text", { x: left + band * i + band / 2, y: H - bottom + 16, "text-anchor": "middle", class: "svg-text" }, cat));
    });
    const legend = el("ul", { class: "legend", "aria-hidden": "true" }, series.map((s) => {
      const sw = el("span", { class: "swatch" });
      sw.style.background = s.color;
      return el("li", {}, sw, s.name);
    }));
    const table = el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), series.map((s) => el("th", { scope: "col" }, s.name)))),
      el("tbody", {}, categories.map((cat, i) => el("tr", {}, el("th", { scope: "row" }, cat),
        series.map((s) => el("td", {}, fmt(s.values[i])))))));
    return el("figure", { class: "chart", id },
      el("figcaption", { id: `${id}-title` }, title),
      el("p", { class: "hint", id: `${id}-desc` }, description),
      svg, legend,
      el("details", {}, el("summary", {}, "Toon de cijfers als tabel"), table));
  }

  function tile(label, value, note) {
    return el("div", { class: "tile" }, el("span", { class: "tile-value" }, value), el("span", { class: "tile-label" }, label),
      note ? el("span", { class: "hint" }, ` ${note}`) : null);
  }

  function weekLabel(week) {
    const m = String(week).match(/^(\d{4})-W(\d{2})$/);
    return m ? `wk ${Number(m[2])}` : week;
  }

  async function showStats(params) {
    addVersions([params.get("model_version")]);  // a bookmarked version shows in the form even if unknown
    fillForm($("stats-filters"), params);
    if (!$("s-head").value) $("s-head").value = "urgency";
    $("stats-error").textContent = "";
    let s;
    try {
      s = await api("GET", `/v1/audit/stats?${apiQuery(params, ["from", "to", "model_version"])}`);
    } catch (err) {
      $("stats-error").textContent = UI.errorText(err);
      return;
    }
    addVersions(Object.keys(s.accuracy || {}).concat(Object.keys(s.confusion || {})));
    const reviews = s.reviews || {};
    clear($("stat-tiles")).append(
      tile("voorspellingen", num(s.records)),
      tile("controle nodig", s.needs_review.share === null ? "–" : pct(s.needs_review.share), `(${s.needs_review.count})`),
      tile("lage zekerheid", s.low_confidence.share === null ? "–" : pct(s.low_confidence.share), `(${s.low_confidence.count})`),
      tile("chats aangepast door adviseur", s.overrides.rate === null ? "–" : pct(s.overrides.rate),
        `(${s.overrides.overridden_chats} van ${s.overrides.chats})`),
      tile(reviews.reviews === 1 ? "beoordeling" : "beoordelingen", num(reviews.reviews || 0),
        `door ${reviews.reviewers || 0} ${reviews.reviewers === 1 ? "beoordelaar" : "beoordelaars"}`),
      tile("vastgestelde voorspellingen", num(reviews.records_resolved || 0)));
    renderSafety(s);

    const charts = clear($("stat-charts"));
    const head = $("s-head").value || "urgency";
    const weeks = s.weeks || [];
    const cats = weeks.map((w) => weekLabel(w.week));
    charts.append(barChart({
      id: "chart-labels", stacked: true,
      title: `Labels per week: ${nl("head", head)}`,
      description: "Hoeveel voorspellingen het model per week deed, naar label.",
      categories: cats,
      series: ORDER[head].map((label) => ({ name: labelNl(head, label), color: COLORS[head][label],
        values: weeks.map((w) => (w[head] || {})[label] || 0) })),
    }));
    charts.append(barChart({
      id: "chart-attention", percent: true,
      title: "Controle nodig en aanpassingen per week",
      description: "Aandeel voorspellingen met controle nodig of lage zekerheid, en aandeel chats dat een adviseur aanpaste.",
      categories: cats,
      series: [
        { name: "controle nodig", color: "#8a6d00", values: weeks.map((w) => w.needs_review_share) },
        { name: "lage zekerheid", color: "#64748b", values: weeks.map((w) => w.low_confidence_share) },
        { name: "aangepast door adviseur", color: "#1b7a43", values: weeks.map((w) => w.override_rate) },
      ],
    }));
    const agreement = s.agreement || {};
    const agreeHeads = ["urgency", "role", "minor", "topics"];
    const records = Math.max(0, ...agreeHeads.map((h) => (agreement[h] || {}).records || 0));
    charts.append(barChart({
      id: "chart-agreement", percent: true,
      title: "Overeenstemming tussen beoordelaars",
      description: records
        ? `Over ${records} ${records === 1 ? "voorspelling" : "voorspellingen"} met twee of meer beoordelingen. Kappa: ` +
          agreeHeads.map((h) => `${nl("head", h)} ${(agreement[h] || {}).kappa === null || (agreement[h] || {}).kappa === undefined
            ? "–" : num(agreement[h].kappa, 2)}`).join(", ") + "."
        : "Nog geen voorspellingen met twee of meer beoordelingen.",
      categories: agreeHeads.map((h) => nl("head", h)),
      series: [{ name: "overeenstemming", color: "#0b5cad",
        values: agreeHeads.map((h) => (agreement[h] || {}).percent_agreement ?? null) }],
    }));
    const versions = Object.keys(s.accuracy || {});
    charts.append(barChart({
      id: "chart-accuracy", percent: true,
      title: "Juistheid per modelversie",
      description: versions.length
        ? "Hoe vaak het model het label gaf dat de beoordelaars vaststelden. " +
          versions.map((v) => `${v}: ${s.accuracy[v].reviewed} beoordeeld`).join("; ") + "."
        : "Nog geen beoordeelde voorspellingen.",
      categories: versions.map((v) => v.length > 16 ? `…${v.slice(-12)}` : v),
      series: HEADS.map((h) => ({ name: nl("head", h), color: COLORS.head[h],
        values: versions.map((v) => ((s.accuracy[v] || {})[h] || {}).accuracy ?? null) })),
    }));
  }

  /* ---- safety figures: under-triage, acute recall and precision, confusion matrices ------------------ */

  function renderSafety(s) {
    const under = s.under_triage || {};
    const acute = s.acute || {};
    const of = (part, whole) => (whole ? `${num(part)} van ${num(whole)}` : "–");
    const rows = [
      ["Te laag ingeschat (ondertriage)", pct1(under.rate), of(under.under, under.records),
        "beoordeelde voorspellingen waarbij de beoordelaars de urgentie hoger vaststelden dan het model"],
      ["Acute chats herkend (gevoeligheid)", pct1(acute.recall), of(acute.both, acute.reviewed_acute),
        "van de chats die de beoordelaars acuut vonden, noemde het model ze ook acuut"],
      ["Acuut terecht (precisie)", pct1(acute.precision), of(acute.both, acute.model_acute),
        "van de chats die het model acuut noemde, vonden de beoordelaars ze ook acuut"],
    ];
    const figures = el("table", { class: "data-table safety-table", id: "safety-table" },
      el("caption", {}, `Veiligheidscijfers over ${num(under.records || 0)} beoordeelde ` +
        `${under.records === 1 ? "voorspelling" : "voorspellingen"}`),
      el("thead", {}, el("tr", {}, ["Cijfer", "Waarde", "Aantal", "Wat het betekent"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map(([name, value, count, meaning]) => el("tr", {},
        el("th", { scope: "row" }, name), el("td", { class: "num" }, value), el("td", { class: "num" }, count),
        el("td", {}, meaning)))));
    clear($("safety-figures")).append(figures);

    const box = clear($("safety-confusion"));
    const versions = Object.keys(s.confusion || {});
    if (!versions.length) {
      box.append(el("p", { class: "muted" }, "Nog geen beoordeelde voorspellingen: er zijn nog geen kruistabellen."));
      return;
    }
    box.append(el("p", { class: "hint" }, "Kruistabellen: per rij wat de beoordelaars vaststelden, per kolom wat het " +
      "model zei. Op de diagonaal zijn ze het eens; bij urgentie staan de te laag ingeschatte chats rechts van de diagonaal."));
    versions.forEach((version, vi) => {
      const group = el("div", { class: "confusion-group" }, el("h4", {}, `Modelversie ${version}`));
      for (const head of HEADS) {
        const m = (s.confusion[version] || {})[head];
        if (m) group.append(confusionTable(m, head, version, `confusion-${vi}-${head}`));
      }
      box.append(group);
    });
  }

  function confusionTable(m, head, version, id) {
    const labels = m.labels || [];
    const matrix = m.matrix || [];
    const colTotals = labels.map((_, j) => matrix.reduce((sum, row) => sum + (row[j] || 0), 0));
    return el("table", { class: "data-table confusion", id, dataset: { head, version } },
      el("caption", {}, `${cap(nl("head", head))}: beoordeeld tegenover model (${num(m.n || 0)} ` +
        `${m.n === 1 ? "voorspelling" : "voorspellingen"})`),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Beoordeeld ↓ / model →"),
        labels.map((label) => el("th", { scope: "col" }, `model: ${labelNl(head, label)}`)),
        el("th", { scope: "col" }, "totaal"))),
      el("tbody", {},
        labels.map((label, i) => el("tr", {},
          el("th", { scope: "row" }, `beoordeeld: ${labelNl(head, label)}`),
          labels.map((_, j) => el("td", {
            class: `num${i === j ? " diag" : ""}${head === "urgency" && j > i && matrix[i][j] ? " under" : ""}`,
          }, num((matrix[i] || [])[j] || 0))),
          el("td", { class: "num total" }, num((matrix[i] || []).reduce((a, b) => a + b, 0))))),
        el("tr", {}, el("th", { scope: "row" }, "totaal"),
          colTotals.map((n) => el("td", { class: "num total" }, num(n))),
          el("td", { class: "num total" }, num(m.n || 0)))));
  }

  /* ---- model versions for the filters ------------------------------------------------------------- */

  function addVersions(versions) {
    let changed = false;
    for (const v of versions) if (v && !state.versions.includes(v)) { state.versions.push(v); changed = true; }
    if (!changed) return;
    state.versions.sort().reverse();
    for (const id of ["f-model", "s-model"]) {
      const select = $(id);
      const current = select.value;
      clear(select).append(el("option", { value: "" }, "alle"), ...state.versions.map((v) => el("option", { value: v }, v)));
      select.value = current;
    }
  }

  async function loadVersions() {
    try {
      const data = await api("GET", "/v1/models");
      const items = Array.isArray(data) ? data : data.items || data.models || data.versions || [];
      const serving = data && data.serving ? [data.serving.model_version] : [];
      addVersions(items.map((m) => (typeof m === "string" ? m : m.model_version || m.version)).concat(serving)
        .filter(Boolean));
    } catch (err) { /* the list is a convenience: versions also come from the records */ }
  }

  /* ---- export ------------------------------------------------------------------------------------- */

  async function exportJsonl() {
    const query = apiQuery(parseHash().params, ["from", "to", "model_version"]);
    try {
      const response = await fetch(`/v1/audit/export?${query}`, {
        headers: { Authorization: `Bearer ${UI.session.key}` }, cache: "no-store", credentials: "omit" });
      if (!response.ok) throw new UI.ApiError(response.status, await response.json().catch(() => null));
      const blob = await response.blob();
      const name = (response.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
      const link = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "beoordelingen.jsonl" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      UI.toast("De beoordelingen zijn gedownload.");
    } catch (err) {
      UI.toast(UI.errorText(err));
    }
  }

  /* ---- start ------------------------------------------------------------------------------------ */

  UI.start(async (me) => {
    state.me = me;
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      window.location.hash = `#lijst?${formParams($("filters"))}`;
    });
    $("filters-reset").addEventListener("click", () => { window.location.hash = "#lijst"; });
    $("stats-filters").addEventListener("submit", (event) => {
      event.preventDefault();
      window.location.hash = `#statistieken?${formParams($("stats-filters"))}`;
    });
    $("more").addEventListener("click", loadMore);
    $("export").addEventListener("click", exportJsonl);
    $("review-form").addEventListener("submit", submitReview);
    $("next-unreviewed").addEventListener("click", nextUnreviewed);
    $("rv-topics-set").addEventListener("change", topicChanged);
    $("records-body").addEventListener("click", rowClicked);
    document.addEventListener("click", linkClicked, true);
    window.addEventListener("hashchange", hashChanged);
    window.addEventListener("beforeunload", beforeUnload);
    loadVersions();
    await route(false);
  });
})();
