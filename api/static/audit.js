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

  const state = { me: null, list: [], cursor: null, query: "", record: null, versions: [] };

  const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
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

  const FILTER_FIELDS = ["urgency", "role", "minor", "check", "reviewed", "source", "model_version", "from", "to"];

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
      if (field.name && field.value && field.type !== "submit" && field.type !== "button") params.set(field.name, field.value);
    }
    return params;
  }

  async function showList(params) {
    fillForm($("filters"), params);
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
    return el("li", {}, kind, UI.featureNl(feature), el("span", { class: "hint" }, ` (gewicht ${Number(feature.weight).toFixed(2)})`));
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

    $("record-summary").textContent = UI.textNl((r.explanation || {}).summary_nl || "");
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
        el("ul", {}, r.review_reasons.map((x) => el("li", {}, UI.textNl(x)))));
    }
    if ((r.overrides || []).length) {
      extra.append(el("h3", {}, "Aanpassingen door adviseurs"), el("ul", {}, r.overrides.map((o) => el("li", {},
        Object.entries(o.fields || o.set || {}).map(([k, v]) => `${nl("head", k)} ${labelNl(k, v)}`).join(", ") || "aanpassing",
        o.advisor ? ` door ${o.advisor}` : "", o.reason ? ` (reden: ${o.reason})` : ""))));
    }
    if ((r.guidance || []).length) {
      extra.append(el("h3", {}, "Getoonde adviezen"), el("ul", {}, r.guidance.map((g) => el("li", {},
        el("strong", {}, g.title), g.reason ? ` · ${g.reason}` : ""))));
    }

    fillReviewForm(r);
    renderReviews(r);
  }

  function ownReview(r) {
    const me = state.me || {};
    return (r.reviews || []).find((v) => me.key_id && v.reviewer === me.key_id) || null;
  }

  function fillReviewForm(r) {
    const mine = ownReview(r);
    const labels = mine ? mine.labels : { urgency: r.urgency, role: r.role, minor: r.minor, topics: r.topics };
    $("rv-urgency").value = labels.urgency;
    $("rv-role").value = labels.role;
    $("rv-minor").value = String(labels.minor);
    for (const box of document.querySelectorAll("#rv-topics input")) box.checked = (labels.topics || []).includes(box.value);
    $("rv-note").value = mine && mine.note ? mine.note : "";
    $("rv-error").textContent = "";
    $("rv-info").textContent = mine ? "U heeft deze voorspelling al beoordeeld; opslaan vervangt uw beoordeling." : "";
    for (const head of HEADS) {
      const label = document.querySelector(`label[for="rv-${head}"]`);
      const base = head === "urgency" ? "Urgentie" : head === "role" ? "Rol van de schrijver" : "Minderjarig";
      label.textContent = `${base} (model: ${labelNl(head, r[head])})`;
    }
  }

  function renderReviews(r) {
    const gold = r.gold || {};
    const goldText = !gold.reviews ? "Nog niet beoordeeld."
      : gold.resolved ? `Vastgesteld na ${gold.reviews} ${gold.reviews === 1 ? "beoordeling" : "beoordelingen"}: ` +
        `${labelNl("urgency", gold.urgency)}, ${labelNl("role", gold.role)}, ${labelNl("minor", gold.minor)}.`
      : `Nog niet vastgesteld: de beoordelingen verschillen over ${(gold.unresolved || []).map((h) => nl("head", h)).join(", ")}.` +
        " Er is nog een beoordeling nodig.";
    $("record-gold").textContent = goldText;
    const list = clear($("record-reviews"));
    for (const v of r.reviews || []) {
      const verdicts = HEADS.map((h) => `${nl("head", h)} ${v[`${h}_ok`] ? "klopt" : `→ ${labelNl(h, v.labels[h])}`}`);
      if (!v.topics_ok) verdicts.push(`onderwerpen → ${(v.labels.topics || []).map((t) => nl("topic", t)).join(", ") || "geen"}`);
      const who = v.reviewer_name || (state.me && v.reviewer === state.me.key_id ? "u (deze sleutel)"
                                                                                 : `beoordelaar ${v.reviewer}`);
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
    const values = { urgency: $("rv-urgency").value, role: $("rv-role").value, minor: $("rv-minor").value === "true" };
    const topics = [...document.querySelectorAll("#rv-topics input:checked")].map((i) => i.value);
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

  async function nextUnreviewed() {
    const current = state.record ? state.record.id : null;
    try {
      const data = await api("GET", "/v1/audit/predictions?reviewed=false&limit=2");
      const next = data.items.find((i) => i.id !== current);
      if (next) window.location.hash = `#record/${next.id}`;
      else UI.toast("Er zijn geen voorspellingen meer zonder beoordeling.");
    } catch (err) {
      UI.toast(UI.errorText(err));
    }
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
        percent ? `${Math.round(v * 100)}%` : (Number.isInteger(v) ? String(v) : v.toFixed(1))));
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
    addVersions(Object.keys(s.accuracy || {}));
    const reviews = s.reviews || {};
    clear($("stat-tiles")).append(
      tile("voorspellingen", String(s.records)),
      tile("controle nodig", s.needs_review.share === null ? "–" : pct(s.needs_review.share), `(${s.needs_review.count})`),
      tile("lage zekerheid", s.low_confidence.share === null ? "–" : pct(s.low_confidence.share), `(${s.low_confidence.count})`),
      tile("chats aangepast door adviseur", s.overrides.rate === null ? "–" : pct(s.overrides.rate),
        `(${s.overrides.overridden_chats} van ${s.overrides.chats})`),
      tile(reviews.reviews === 1 ? "beoordeling" : "beoordelingen", String(reviews.reviews || 0),
        `door ${reviews.reviewers || 0} ${reviews.reviewers === 1 ? "beoordelaar" : "beoordelaars"}`),
      tile("vastgestelde voorspellingen", String(reviews.records_resolved || 0)));

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
            ? "–" : Number(agreement[h].kappa).toFixed(2)}`).join(", ") + "."
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

  /* ---- model versions for the filters ------------------------------------------------------------- */

  function addVersions(versions) {
    let changed = false;
    for (const v of versions) if (v && !state.versions.includes(v)) { state.versions.push(v); changed = true; }
    if (!changed) return;
    state.versions.sort().reverse();
    for (const id of ["f-model", "s-model"]) {
      const select = $(id);
      const current = select.value;
      clear(select).append(el("option", { value: "" }, "alle"), state.versions.map((v) => el("option", { value: v }, v)));
      select.value = current;
    }
  }

  async function loadVersions() {
    try {
      const data = await api("GET", "/v1/models");
      const items = Array.isArray(data) ? data : data.items || data.models || data.versions || [];
      addVersions(items.map((m) => (typeof m === "string" ? m : m.model_version || m.version)).filter(Boolean));
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
      const link = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "triage-audit.jsonl" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      UI.toast("De export is gedownload.");
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
    window.addEventListener("hashchange", () => route(true));
    loadVersions();
    await route(false);
  });
})();
