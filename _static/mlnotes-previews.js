/* 机器学习笔记: hover and focus previews of internal cross-references.
 *
 * Pointing at (or tabbing to) a link to another page of the site shows the
 * target's heading and first paragraph; a link to an equation shows the
 * equation; a link to an API entry shows its signature and summary.  The preview
 * is read from the target page itself, fetched from the same server, so it is
 * always as current as the page and needs no data generated at build time and
 * no network.  Math is SVG drawn at build time: a preview brings along the glyphs
 * its formulas use from the page it came from.  Escape closes it.
 */
(function () {
  "use strict";

  const SHOW_DELAY = 250;
  const HIDE_DELAY = 150;
  const pages = new Map(); // page URL -> Promise<Document>
  let tip = null;
  let owner = null;
  let showTimer = null;
  let hideTimer = null;

  function contentRoot() {
    return document.documentElement.dataset.content_root || "";
  }

  function loadPage(url) {
    const page = url.href.split("#")[0];
    if (page === location.href.split("#")[0]) return Promise.resolve(document);
    if (!pages.has(page)) {
      pages.set(page, fetch(page)
        .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.status))))
        .then((text) => new DOMParser().parseFromString(text, "text/html")));
    }
    return pages.get(page);
  }

  // Resolve relative links and images of a fragment taken from another page.
  function rebase(node, base) {
    node.querySelectorAll("[href]:not(use)").forEach((el) => {
      el.setAttribute("href", new URL(el.getAttribute("href"), base).href);
    });
    node.querySelectorAll("[src]").forEach((el) => {
      el.setAttribute("src", new URL(el.getAttribute("src"), base).href);
    });
    node.querySelectorAll("[id]").forEach((el) => el.removeAttribute("id"));
    node.querySelectorAll("a.headerlink").forEach((el) => el.remove());
    return node;
  }

  function firstParagraph(section) {
    for (const p of section.querySelectorAll("p")) {
      if (p.closest(".mlnotes-post-info, .mlnotes-series, .mlnotes-linkbox, nav, aside")) continue;
      if (p.textContent.trim().length > 0) return p;
    }
    return null;
  }

  // The preview of the element with *id* (or of the page) in *doc*.
  function extract(doc, id) {
    const article = doc.querySelector("article") || doc.body;
    let target = id ? doc.getElementById(id) : null;
    if (target && target.tagName === "SPAN" && !target.textContent.trim()) {
      target = target.parentElement; // docutils puts extra ids on empty spans
    }
    const parts = [];
    if (target && target.matches("div.math, .math-wrapper, div.math-wrapper")) {
      parts.push(target.cloneNode(true));
    } else if (target && target.matches("dt")) {
      parts.push(target.cloneNode(true));
      const dd = target.parentElement.querySelector(":scope > dd");
      const p = dd && firstParagraph(dd);
      if (p) parts.push(p.cloneNode(true));
    } else {
      const section = (target && (target.closest("section") || target)) ||
        article.querySelector("section") || article;
      const heading = section.querySelector("h1, h2, h3, h4, h5, h6");
      const p = firstParagraph(section);
      if (heading) {
        const title = document.createElement("p");
        title.className = "mlnotes-preview-title";
        title.textContent = heading.textContent.replace(/[#¶]\s*$/, "").trim();
        parts.push(title);
      }
      if (p) parts.push(p.cloneNode(true));
    }
    return parts;
  }

  // Formulas are SVG drawn at build time; their glyphs are defined once per page
  // (<svg class="mlnotes-math-glyphs">).  A formula taken from another page may use glyphs
  // this page does not define: copy their definitions from the page it came from.
  function addGlyphs(node, doc) {
    if (doc === document) return;
    let defs = document.querySelector("svg.mlnotes-math-glyphs defs");
    node.querySelectorAll("use").forEach((use) => {
      const ref = (use.getAttribute("href") || use.getAttribute("xlink:href") || "").slice(1);
      if (!ref || document.getElementById(ref)) return;
      const glyph = doc.getElementById(ref);
      if (!glyph) return;
      if (!defs) {
        const holder = document.createElementNS("http://www.w3.org/2000/svg", "svg");
        holder.setAttribute("class", "mlnotes-math-glyphs");
        holder.setAttribute("aria-hidden", "true");
        holder.style.display = "none";
        defs = holder.appendChild(document.createElementNS("http://www.w3.org/2000/svg", "defs"));
        document.body.appendChild(holder);
      }
      defs.appendChild(document.importNode(glyph, true));
    });
  }

  function place(link) {
    const rect = link.getBoundingClientRect();
    const width = Math.min(480, document.documentElement.clientWidth - 16);
    tip.style.maxWidth = width + "px";
    const left = Math.max(8, Math.min(rect.left, document.documentElement.clientWidth - width - 8));
    tip.style.left = left + window.scrollX + "px";
    const below = rect.bottom + 8;
    tip.style.top = below + window.scrollY + "px";
    const height = tip.getBoundingClientRect().height;
    if (below + height > window.innerHeight && rect.top - height - 8 > 0) {
      tip.style.top = rect.top - height - 8 + window.scrollY + "px";
    }
  }

  function hide() {
    clearTimeout(showTimer);
    if (tip) tip.remove();
    if (owner) owner.removeAttribute("aria-describedby");
    tip = null;
    owner = null;
  }

  function show(link) {
    const url = new URL(link.href, location.href);
    const id = url.hash ? decodeURIComponent(url.hash.slice(1)) : "";
    loadPage(url).then((doc) => {
      if (link !== owner) return;
      const parts = extract(doc, id);
      if (!parts.length) return;
      if (tip) tip.remove();
      tip = document.createElement("div");
      tip.id = "mlnotes-preview";
      tip.className = "mlnotes-preview";
      tip.setAttribute("role", "tooltip");
      parts.forEach((part) => tip.appendChild(rebase(part, url)));
      tip.addEventListener("mouseenter", () => clearTimeout(hideTimer));
      tip.addEventListener("mouseleave", () => { hideTimer = setTimeout(hide, HIDE_DELAY); });
      document.body.appendChild(tip);
      link.setAttribute("aria-describedby", tip.id);
      place(link);
      addGlyphs(tip, doc);
    }).catch(() => {}); // a page that cannot be fetched (file://) simply has no preview
  }

  function start(link, delay) {
    clearTimeout(hideTimer);
    if (owner === link) return;
    hide();
    owner = link;
    showTimer = setTimeout(() => show(link), delay);
  }

  function previewable(el) {
    const link = el && el.closest && el.closest("a.reference.internal");
    if (!link || !link.closest("article") || link.closest(".mlnotes-preview")) return null;
    if (link.classList.contains("headerlink") || !link.getAttribute("href")) return null;
    const url = new URL(link.href, location.href);
    return url.origin === location.origin ? link : null;
  }

  document.addEventListener("mouseover", (e) => {
    const link = previewable(e.target);
    if (link) start(link, SHOW_DELAY);
  });
  document.addEventListener("mouseout", (e) => {
    const link = previewable(e.target);
    if (link && link === owner && !link.contains(e.relatedTarget)) {
      clearTimeout(showTimer);
      hideTimer = setTimeout(hide, HIDE_DELAY);
    }
  });
  document.addEventListener("focusin", (e) => {
    const link = previewable(e.target);
    if (link) start(link, 0);
  });
  document.addEventListener("focusout", (e) => {
    if (previewable(e.target) === owner) hide();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") hide();
  });
})();
