"""Small accessibility checks run in the page: every control has a label, and text has enough
contrast with its background (WCAG AA: 4.5:1, or 3:1 for large text)."""

from __future__ import annotations

_CHECK = r"""
() => {
  const problems = [];
  const visible = (el) => {
    if (el.closest("[hidden]")) return false;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || s.display === "none") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");

  // 1. every control has an accessible name
  for (const el of document.querySelectorAll("input, select, textarea, button, a[href], summary")) {
    if (!visible(el) || el.type === "hidden") continue;
    let name = (el.getAttribute("aria-label") || "").trim();
    if (!name && el.getAttribute("aria-labelledby")) {
      name = el.getAttribute("aria-labelledby").split(/\s+/)
        .map((id) => (document.getElementById(id) || {}).textContent || "").join(" ").trim();
    }
    if (!name && el.labels && el.labels.length) name = [...el.labels].map((l) => l.textContent).join(" ").trim();
    if (!name && ["BUTTON", "A", "SUMMARY"].includes(el.tagName)) name = el.textContent.trim();
    if (!name) problems.push(`no accessible name: ${describe(el)}`);
  }

  // 2. contrast of text with the background behind it
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a: a === undefined ? 1 : a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const blend = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let color = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) color = blend(layer, color);
    return color;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const text = walker.currentNode;
    const el = text.parentElement;
    if (!text.textContent.trim() || !el || seen.has(el) || !visible(el)) continue;
    if (el.closest(".visually-hidden, svg, option")) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    if (parseFloat(s.opacity) < 1) continue;  // fading toasts
    const fg = parse(s.color);
    const bg = background(el);
    const fgc = fg.a < 1 ? blend(fg, bg) : fg;
    const [l1, l2] = [lum(fgc), lum(bg)].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      problems.push(`contrast ${ratio.toFixed(2)}:1 for "${text.textContent.trim().slice(0, 30)}" in ${describe(el)}`);
    }
  }
  return problems;
}
"""


def accessibility_problems(page) -> list[str]:
    return page.evaluate(_CHECK)
