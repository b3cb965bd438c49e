/* Shared by the triage pages: sign-in with an API key (sessionStorage), role check via GET /v1/me,
 * the JSON API client, and small DOM helpers.
 *
 * Chat text is untrusted input. Nothing here (or in the page scripts) ever assigns innerHTML:
 * every piece of data goes into the page as a text node, so markup in a chat stays text. */
"use strict";

(function () {
  const STORE = { key: "triage.key", role: "triage.role", name: "triage.name" };

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  const config = readJson("ui-config");
  const labels = readJson("ui-labels");

  /* ---- DOM -------------------------------------------------------------------------------- */

  /** el("p", {class: "x", onclick: fn}, "text", child, ...): strings become text nodes. */
  function el(tag, attrs, ...children) {
    const svg = tag.startsWith("svg:");
    const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
                     : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") {
        node.addEventListener(name.slice(2), value);
      } else if (name === "dataset") {
        Object.assign(node.dataset, value);
      } else if (name === "hidden" && !svg) {
        node.hidden = Boolean(value);
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  const $ = (id) => document.getElementById(id);

  let toastTimer = null;
  function toast(message) {
    const box = $("toast");
    if (!box) return;
    box.textContent = message;
    box.classList.add("visible");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("visible"), 4000);
  }

  /* ---- words ------------------------------------------------------------------------------ */

  function nl(group, code) {
    if (code === null || code === undefined) return "";
    const table = labels[group] || {};
    return table[String(code)] || String(code).replace(/_/g, " ");
  }

  function pct(p) {
    return `${Math.round((Number(p) || 0) * 100)}%`;
  }

  /** A number the Dutch way: decimal comma, dots between thousands ("1.234,5"). */
  function num(value, digits) {
    const d = digits === undefined ? 2 : digits;
    return (Number(value) || 0).toLocaleString("nl-NL", { maximumFractionDigits: d });
  }

  /** Decimal points in running text become decimal commas ("0.57" -> "0,57"). */
  function decimalCommas(text) {
    return String(text || "").replace(/(\d)\.(\d)/g, "$1,$2");
  }

  // Language codes the model reports (ISO 639-1), as words.
  const LANGUAGES_NL = {
    nl: "Nederlands", en: "Engels", de: "Duits", fr: "Frans", es: "Spaans", it: "Italiaans", pt: "Portugees",
    pl: "Pools", tr: "Turks", ar: "Arabisch", uk: "Oekraïens", ru: "Russisch", ro: "Roemeens", bg: "Bulgaars",
    so: "Somalisch", ti: "Tigrinya", fa: "Perzisch", af: "Afrikaans", fy: "Fries", zh: "Chinees",
  };
  function languageNl(code) {
    const c = String(code || "").toLowerCase();
    return LANGUAGES_NL[c] || (c ? "een andere taal" : "onbekende taal");
  }

  // Age buckets of the model's age cue (triage/cues.py), as words.
  const AGE_NL = { child: "jonger dan 12 jaar", "12-15": "12 tot 16 jaar", "16-17": "16 of 17 jaar",
                   "18-25": "18 tot 26 jaar", "26-64": "26 tot 65 jaar", "65+": "65 jaar of ouder" };
  function ageNl(bucket) {
    return AGE_NL[bucket] || String(bucket).replace(/-/g, " tot ");
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function durationWords(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const parts = [];
    if (h) parts.push(`${h} uur`);
    if (m) parts.push(`${m} ${m === 1 ? "minuut" : "minuten"}`);
    if (!h) parts.push(`${r} ${r === 1 ? "seconde" : "seconden"}`);
    return parts.join(" ");
  }

  // Dutch clock time, whatever the computer's own time zone is set to.
  const zone = { timeZone: "Europe/Amsterdam" };
  const timeFmt = new Intl.DateTimeFormat("nl-NL", { ...zone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const dateTimeFmt = new Intl.DateTimeFormat("nl-NL", { ...zone, day: "numeric", month: "short", year: "numeric",
                                                        hour: "2-digit", minute: "2-digit" });
  function time(iso) {
    const d = iso ? new Date(iso) : new Date();
    return Number.isNaN(d.getTime()) ? "" : timeFmt.format(d);
  }
  function dateTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : dateTimeFmt.format(d);
  }

  function badge(kind, text, extraClass) {
    return el("span", { class: `badge badge-${kind}${extraClass ? " " + extraClass : ""}` }, text);
  }

  function urgencyBadge(urgency) {
    return badge(`urgency-${urgency}`, nl("urgency", urgency));
  }

  /* ---- the model's own words, in Dutch --------------------------------------------------------- */

  /** A feature that drove a decision, in Dutch (red-flag cue features carry English cue names). */
  function featureNl(feature) {
    const name = (feature && feature.feature) || "";
    let m = name.match(/^cue__flag=(.+)$/);
    if (m) return `rode vlag: ${nl("red_flag", m[1])}`;
    m = name.match(/^cue__flag_when=(.+)$/);
    if (m) return `rode vlag, tijd: ${nl("when", m[1])}`;
    m = name.match(/^cue__harm_tense=(.+)$/);  // triage.explain describes these as a relation
    if (m) return m[1] === "past" ? "geweld in de verleden tijd" : "geweld in de tegenwoordige tijd";
    m = name.match(/^cue__age=(.+)$/);
    if (m) return `leeftijd: ${ageNl(m[1])}`;
    return textNl((feature && feature.description_nl) || name);
  }

  const REASON_PATTERNS = [
    [/\b(role|minor|urgency|topics): low confidence \(([\d.]+)\)/g,
      (all, head, p) => `${nl("head", head)}: onzeker (${pct(p)})`],
    [/\b(role|minor|urgency|topics): top two scores within ([\d.]+)/g,
      (all, head) => `${nl("head", head)}: twee hoogste scores liggen dicht bij elkaar`],
    [/\bminor: uncertain \(([\d.]+)\)/g, (all, p) => `minderjarig: onzeker (${pct(p)})`],
    [/\blanguage: not Dutch \(([^)]*)\)/g, (all, lang) => `taal: niet Nederlands maar ${languageNl(lang)}`],
    [/\bniet Nederlands \(([a-z]{2,3})\)/g, (all, lang) => `niet Nederlands maar ${languageNl(lang)}`],
    [/\blage zekerheid \((0?\.\d+)\)/g, (all, p) => `lage zekerheid (${pct(p)})`],
    [/\bonzeker \((0?\.\d+)\)/g, (all, p) => `onzeker (${pct(p)})`],
    [/\bleeftijd (child|\d+-\d+|65\+)/g, (all, bucket) => `leeftijd ${ageNl(bucket)}`],
    [/\burgency: raised by red flags above the model's own estimate/g,
      () => "urgentie: door rode vlaggen hoger dan de eigen inschatting van het model"],
    [/rode vlag: ([a-z_]+)/g, (all, cue) => (labels.red_flag || {})[cue] ? `rode vlag: ${labels.red_flag[cue]}` : all],
    [/rode vlag, tijd: ([a-z]+)/g, (all, w) => (labels.when || {})[w] ? `rode vlag, tijd: ${labels.when[w]}` : all],
    [/slachtoffer is mijn (pres|past)\b/g, (all, t) => (t === "past" ? "geweld in de verleden tijd"
                                                                     : "geweld in de tegenwoordige tijd")],
  ];

  /** The model's summary or review reasons with the English bits put into Dutch. */
  function textNl(text) {
    let out = String(text || "");
    for (const [re, fn] of REASON_PATTERNS) out = out.replace(re, fn);
    return decimalCommas(out);
  }

  /* ---- highlighting ---------------------------------------------------------------------------- */

  /** Spans [{start, end, cls, note}] inside `text`, merged where they overlap (the first wins). */
  function mergeSpans(spans, length) {
    const sorted = spans.filter((s) => s.end > s.start && s.start >= 0 && s.end <= length)
      .sort((a, b) => a.start - b.start || b.end - a.end);
    const out = [];
    for (const span of sorted) {
      const last = out[out.length - 1];
      if (last && span.start < last.end) {
        if (span.end > last.end) last.end = span.end;
        if (span.note && last.note && !last.note.includes(span.note)) last.note += `; ${span.note}`;
        if (span.tag && last.tag && !last.tag.split(", ").includes(span.tag)) last.tag += `, ${span.tag}`;
        continue;
      }
      out.push({ ...span });
    }
    return out;
  }

  /** All places of `needle` in `text` (case-insensitive, any run of white space matches). */
  function findAll(text, needle) {
    const words = String(needle || "").trim().split(/\s+/).filter(Boolean)
      .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    if (!words.length) return [];
    const re = new RegExp(words.join("\\s+"), "giu");
    const found = [];
    let m;
    while ((m = re.exec(text)) !== null) {
      found.push({ start: m.index, end: m.index + m[0].length });
      if (m[0].length === 0) re.lastIndex += 1;
    }
    return found;
  }

  /** Red-flag spans: start_char/end_char when they point at the flag's text in this text, otherwise
   *  every place the flag's text occurs (previews are shortened and their white space is folded). */
  function flagSpans(text, flags) {
    const spans = [];
    for (const flag of flags || []) {
      const note = `rode vlag: ${flag.label_nl || nl("red_flag", flag.cue)}`;
      const s = flag.start_char, e = flag.end_char;
      if (Number.isInteger(s) && Number.isInteger(e) && e > s && e <= text.length && flag.text &&
          text.slice(s, e).toLowerCase() === String(flag.text).toLowerCase()) {
        spans.push({ start: s, end: e, cls: "flag", note, tag: note });
        continue;
      }
      for (const hit of findAll(text, flag.text)) spans.push({ ...hit, cls: "flag", note, tag: note });
    }
    return spans;
  }

  /** The text with <mark> around the spans, as DOM nodes (never HTML). Each mark has its note as a
   *  tooltip and is followed by a short tag for screen readers, e.g. "(rode vlag: wapen)". */
  function highlight(text, spans) {
    const frag = document.createDocumentFragment();
    text = String(text || "");
    let at = 0;
    for (const span of mergeSpans(spans, text.length)) {
      if (span.start > at) frag.append(document.createTextNode(text.slice(at, span.start)));
      const mark = el("mark", { class: span.cls || "flag", title: span.note || null }, text.slice(span.start, span.end));
      frag.append(mark);
      const tag = span.tag || span.note;
      if (tag) frag.append(el("span", { class: "visually-hidden" }, ` (${tag})`));
      at = span.end;
    }
    if (at < text.length) frag.append(document.createTextNode(text.slice(at)));
    return frag;
  }

  /* ---- a small, safe Markdown subset for the guidance cards ------------------------------------- */

  function inline(text) {
    const frag = document.createDocumentFragment();
    const re = /\*\*([^*]+)\*\*|\*([^*]+)\*/g;
    let at = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > at) frag.append(text.slice(at, m.index));
      frag.append(m[1] !== undefined ? el("strong", {}, m[1]) : el("em", {}, m[2]));
      at = m.index + m[0].length;
    }
    if (at < text.length) frag.append(text.slice(at));
    return frag;
  }

  function markdown(md) {
    const frag = document.createDocumentFragment();
    let list = null, para = null;
    for (const raw of String(md || "").split(/\r?\n/)) {
      const line = raw.trim();
      const item = line.match(/^[-*]\s+(.*)$/) || line.match(/^\d+[.)]\s+(.*)$/);
      if (!line) { list = null; para = null; continue; }
      if (item) {
        para = null;
        if (!list) { list = el("ul"); frag.append(list); }
        list.append(el("li", {}, inline(item[1])));
        continue;
      }
      const heading = line.match(/^#{1,6}\s+(.*)$/);
      if (heading) { list = null; para = null; frag.append(el("p", { class: "md-heading" }, inline(heading[1]))); continue; }
      if (list && raw.startsWith("  ")) { list.lastChild.append(" ", inline(line)); continue; }
      list = null;
      if (!para) { para = el("p"); frag.append(para); } else { para.append(" "); }
      para.append(inline(line));
    }
    return frag;
  }

  const ORDER = {
    urgency: { acute: 1, high: 1, normal: 1, low: 1 },
    role: { victim: 1, bystander: 1, perpetrator: 1, professional: 1, unknown: 1 },
    minor: { true: 1, false: 1 },
  };

  /* ---- scores as bars -------------------------------------------------------------------------- */

  /** A list of labelled bars for one head's scores, highest first; the chosen label is marked. */
  function scoreBars(head, scores, chosen, opts) {
    const options = opts || {};
    const order = options.order || (head === "topics" ? null : Object.keys(ORDER[head] || {}));
    const entries = Object.entries(scores || {}).sort(order && order.length
      ? (a, b) => order.indexOf(a[0]) - order.indexOf(b[0]) : (a, b) => b[1] - a[1]);
    const shown = options.limit ? entries.slice(0, options.limit) : entries;
    const group = head === "topics" ? "topic" : head;
    const list = el("ul", { class: "bars", "aria-label": options.label || `Scores ${nl("head", head)}` });
    for (const [label, value] of shown) {
      const name = head === "minor" ? (label === "true" ? "minderjarig" : "volwassen") : nl(group, label);
      const isChosen = chosen !== undefined && chosen !== null &&
        (Array.isArray(chosen) ? chosen.includes(label) : String(chosen) === label);
      const fill = el("span", { class: "bar-fill" });
      fill.style.width = `${Math.max(0, Math.min(1, Number(value) || 0)) * 100}%`;
      list.append(el("li", { class: isChosen ? "chosen" : null },
        el("span", { class: "bar-label" }, name, isChosen ? el("span", { class: "visually-hidden" }, " (gekozen)") : null),
        el("span", { class: "bar-track", "aria-hidden": "true" }, fill),
        el("span", { class: "bar-value" }, pct(value))));
    }
    return list;
  }

  /** Why the chosen urgency is not the highest score (thresholds favour the more urgent label, and
   *  red flags set a minimum), or null when it is. */
  function urgencyNote(scores, chosen) {
    const entries = Object.entries(scores || {});
    if (!entries.length || !chosen) return null;
    const top = entries.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    if (top === chosen) return null;
    return el("p", { class: "hint" }, `Gekozen: ${nl("urgency", chosen)}, hoewel ${nl("urgency", top)} hoger scoort. ` +
      "Voor urgentie gelden lage drempels en rode vlaggen tellen als ondergrens: liever te hoog dan te laag.");
  }

  /* ---- session and API --------------------------------------------------------------------------- */

  const session = {
    get key() { return sessionStorage.getItem(STORE.key) || ""; },
    get role() { return sessionStorage.getItem(STORE.role) || ""; },
    get name() { return sessionStorage.getItem(STORE.name) || ""; },
    save(key, role, name) {
      sessionStorage.setItem(STORE.key, key);
      sessionStorage.setItem(STORE.role, role);
      if (name) sessionStorage.setItem(STORE.name, name); else sessionStorage.removeItem(STORE.name);
    },
    clear() {
      for (const k of Object.keys(sessionStorage)) if (k.startsWith("triage.")) sessionStorage.removeItem(k);
    },
  };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.message || (typeof body.detail === "string" ? body.detail : ""))) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
      this.code = this.body.code || "";
    }
  }

  let onUnauthorized = null;

  async function api(method, path, body, opts) {
    const options = opts || {};
    const headers = { Accept: "application/json" };
    const key = options.key !== undefined ? options.key : session.key;
    if (key) headers.Authorization = `Bearer ${key}`;
    const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeout || 15000);
    init.signal = controller.signal;
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, { code: "network", message: "De server is niet bereikbaar." });
    } finally {
      clearTimeout(timer);
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
    if (!response.ok) {
      const error = new ApiError(response.status, typeof data === "object" ? data : null);
      if (response.status === 401 && !options.key && onUnauthorized) onUnauthorized();
      throw error;
    }
    return data;
  }

  /** A Dutch sentence for an API error, for the person using the page. */
  function errorText(err) {
    if (!(err instanceof ApiError)) return "Er ging iets mis. Probeer het opnieuw.";
    switch (err.status) {
      case 0: return "De server is niet bereikbaar. Controleer de verbinding; de pagina probeert het opnieuw.";
      case 401: return "Uw toegangscode is niet (meer) geldig. Log opnieuw in.";
      case 403: return "Dit mag niet met uw rol.";
      case 404: return "Niet gevonden: misschien is de chat al afgesloten of vertrokken.";
      case 409:
        if (err.code === "already_claimed") return "Een collega heeft deze chat al geclaimd.";
        if (err.code === "claimed_by_other") return "Deze chat is door een collega geclaimd.";
        return "Dat kan niet meer: de chat is intussen veranderd.";
      case 413: return "De invoer is te groot.";
      case 422: return "De invoer klopt niet. Controleer de velden.";
      case 503: return "De server is tijdelijk niet beschikbaar. Probeer het zo opnieuw.";
      default: return "Er ging iets mis op de server. Probeer het opnieuw.";
    }
  }

  /* ---- page start: sign-in, role check ------------------------------------------------------------- */

  function allowedPages(role) {
    return Object.values(config.pages || {}).filter((p) => p.roles.includes(role));
  }

  function showSession(me) {
    const who = $("session-who");
    const name = session.name;
    who.textContent = `${name ? name + " · " : ""}${me.role_nl || nl("user_role", me.role)}`;
    show($("session-box"), true);
    const nav = $("page-nav");
    for (const li of nav.querySelectorAll("li[data-roles]")) {
      li.hidden = !li.dataset.roles.split(" ").includes(me.role);
    }
    show(nav, true);
  }

  let nameOnly = false;

  /** The sign-in form; with `onlyName` the key is already known and only the name is asked. */
  function showSignin(message, onlyName) {
    nameOnly = Boolean(onlyName && session.key && $("signin-name"));
    show($("signin-key").closest(".field"), !nameOnly);
    show($("app"), false);
    show($("denied"), false);
    show($("session-box"), false);
    show($("page-nav"), false);
    show($("signin"), true);
    $("signin-error").textContent = message || "";
    if ($("signin-name")) {
      $("signin-name").value = session.name;
      $("signin-name").required = true;
    }
    (nameOnly ? $("signin-name") : $("signin-key")).focus();
  }

  function showDenied(me) {
    show($("signin"), false);
    show($("app"), false);
    const pages = allowedPages(me.role);
    const allowed = (config.roles || []).map((r) => nl("user_role", r)).join(" of ");
    $("denied-text").textContent = `U bent ingelogd als ${me.role_nl || nl("user_role", me.role)}. ` +
      `Deze pagina is alleen voor de rol ${allowed}.` + (pages.length ? " U kunt wel naar:" : "");
    const links = clear($("denied-links"));
    for (const p of pages) links.append(el("li", {}, el("a", { href: p.path }, p.title)));
    show($("denied"), true);
    $("denied-title").setAttribute("tabindex", "-1");
    $("denied-title").focus();
  }

  // A page may ask before signing out (the advisor page: a chat still in hand). The guard returns
  // (a promise of) true to go on signing out.
  let signOutGuard = null;
  function setSignOutGuard(fn) { signOutGuard = fn; }

  async function signOut() {
    if (signOutGuard) {
      let go = false;
      try { go = await signOutGuard(); } catch (e) { go = false; }
      if (!go) return;
    }
    session.clear();
    window.location.reload();
  }

  /** Starts the page: `ready(me)` runs once the key is known and its role may use this page. */
  function start(ready) {
    let started = false;
    onUnauthorized = () => {
      session.clear();
      showSignin("Uw toegangscode is niet (meer) geldig. Log opnieuw in.");
    };
    $("signout").addEventListener("click", () => { signOut(); });

    async function enter(me) {
      showSession(me);
      if (!(config.roles || []).includes(me.role)) { showDenied(me); return; }
      if (config.needs_name && !session.name) {
        showSignin("Deze pagina legt uw naam vast bij wat u doet. Vul uw naam in.", true);
        return;
      }
      show($("signin"), false);
      show($("denied"), false);
      show($("app"), true);
      if (!started) { started = true; await ready(me); }
    }

    $("signin-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const key = nameOnly ? session.key : $("signin-key").value.trim();
      const name = $("signin-name") ? $("signin-name").value.trim() : "";
      const error = $("signin-error");
      if (!key) { error.textContent = "Vul uw toegangscode in."; $("signin-key").focus(); return; }
      if (config.needs_name && !name) { error.textContent = "Vul uw naam in."; $("signin-name").focus(); return; }
      error.textContent = "";
      try {
        const me = await api("GET", "/v1/me", null, { key });
        session.save(key, me.role, name || session.name);
        $("signin-key").value = "";
        if (started) { window.location.reload(); return; }  // signed in again after a 401: start afresh
        await enter(me);
      } catch (err) {
        error.textContent = err.status === 401 ? "Deze toegangscode is niet geldig. Controleer hem en probeer het opnieuw."
                                               : errorText(err);
        $("signin-key").focus();
      }
    });

    if (!session.key) { showSignin(); return; }
    api("GET", "/v1/me").then(enter).catch((err) => {
      if (err.status !== 401) showSignin(errorText(err));
    });
  }

  window.UI = {
    config, labels, el, append, clear, show, $, toast, nl, pct, num, decimalCommas, languageNl, ageNl, duration,
    durationWords, time, dateTime, setSignOutGuard, signOut,
    badge, urgencyBadge, urgencyNote, featureNl, textNl, mergeSpans, findAll, flagSpans, highlight, markdown, scoreBars, session, api,
    ApiError, errorText, start,
  };
})();
