/* Site search: the header's search-as-you-type box and the search page (search.html?q=).
 *
 * The index is Pagefind's (_ext/mlnotes_search.py writes it to pagefind/ at build time).
 * Nothing of it is fetched until the reader types: Pagefind's own script, its WebAssembly
 * and the index chunks the query needs are loaded then, through Pagefind's documented
 * JavaScript API (createInstance, search, filters, result.data()).
 *
 * Chinese is indexed as overlapping character pairs (bigrams), and the query is cut the
 * same way here (queryTerms), so a compound no dictionary knows (空洞卷积) still matches.
 * Snippets come back as those pairs; showExcerpt puts the text together again.
 *
 * Everything from the reader (the field, ?q= in the URL) and from the index is shown as
 * text: nodes are built with textContent, never with innerHTML.
 */
(() => {
  "use strict";

  const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
  const HAN_RUN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/gu;
  // Punctuation that separates words; "_", "-", "." and "+" stay inside Latin words
  // (tf_export, all-reduce, torch.compile), where Pagefind indexes the word and its parts.
  const SEPARATORS = /[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"'`,;:!?()[\]{}<>|\\/~*^$#@%&=·、—–]+/gu;
  const DEBOUNCE_MS = 40;
  const UNAVAILABLE = location.protocol === "file:"
    ? "搜索需要通过 HTTP 访问本站（例如 make serve），直接打开本地文件时无法使用。"
    : "搜索暂时不可用，请稍后再试。";
  const PAGE_SIZE = 10;

  const root = document.documentElement.dataset.content_root || "";
  const bundlePath = new URL(root + "pagefind/", document.baseURI).href;
  const searchPage = new URL(root + "search.html", document.baseURI).href;

  /** The words the index holds for *query*: Chinese as bigrams, the rest as typed. */
  function queryTerms(query) {
    const terms = [];
    for (const chunk of query.normalize("NFKC").split(SEPARATORS)) {
      if (!chunk) continue;
      let last = 0;
      for (const match of chunk.matchAll(HAN_RUN)) {
        if (match.index > last) terms.push(chunk.slice(last, match.index));
        const run = match[0];
        if (run.length === 1) terms.push(run);
        for (let i = 0; i + 1 < run.length; i++) terms.push(run.slice(i, i + 2));
        last = match.index + run.length;
      }
      if (last < chunk.length) terms.push(chunk.slice(last));
    }
    return terms.map((t) => t.replace(/^[-_.+]+|[-_.+]+$/g, "")).filter(Boolean).join(" ");
  }

  let worker = null;
  let calls = 0;
  const pending = new Map();
  /** Ask the search worker (Pagefind runs there, loaded on first use). */
  function ask(message) {
    if (!worker) {
      try {
        worker = new Worker(new URL(root + "_static/mlnotes-search-worker.js", document.baseURI),
                            { type: "module" });
      } catch {
        return Promise.reject(new Error(UNAVAILABLE));
      }
      worker.onmessage = ({ data }) => {
        const done = pending.get(data.id);
        pending.delete(data.id);
        if (data.error) done.reject(new Error(data.error));
        else done.resolve(data);
      };
      // e.g. a page opened from disk (file://): browsers run no worker and fetch no index there
      worker.onerror = () => {
        for (const done of pending.values()) done.reject(new Error(UNAVAILABLE));
        pending.clear();
        worker = null;
      };
    }
    const id = ++calls;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, bundlePath, ...message });
    });
  }

  /** Results *offset* to *offset* + *limit* for *query* with their data, best first.
   *  *facets* are the index words of chosen facet values (zzzcategory深度学习zzz,
   *  _ext/mlnotes_search.py): every result must have them. */
  async function search(query, facets = [], limit = 10, offset = 0) {
    const terms = queryTerms(query);
    if (!terms) return { total: 0, results: [] };
    const { total, relaxed, results } = await ask({ terms: [terms, ...facets].join(" "), limit, offset });
    return { total, relaxed, results };
  }

  /** Start loading Pagefind before the first query. */
  function warm() {
    ask({ terms: "", limit: 0 }).catch(() => {});
  }

  /** The snippet as text and <mark> nodes: bigram pairs joined again, matches marked. */
  function showExcerpt(excerpt) {
    // Pagefind's excerpt is escaped text with <mark> around matched words; parse it
    // inertly (DOMParser runs nothing) and read only text and marks.
    const doc = new DOMParser().parseFromString(`<p>${excerpt}</p>`, "text/html");
    const words = [];
    for (const node of doc.body.firstChild.childNodes) {
      const marked = node.nodeName === "MARK";
      for (const word of node.textContent.split(/\s+/)) {
        if (word) words.push({ word, marked });
      }
    }
    // Words were cut at every Chinese character pair and full-width punctuation mark;
    // a space is put back only between a Latin word and anything but that punctuation.
    const chars = []; // {c, marked, space}
    let previous = null;
    for (const { word, marked } of words) {
      const pair = [...word];
      const han = pair.length <= 2 && pair.every((c) => HAN.test(c));
      if (previous && han && pair.length === 2 && previous.han && previous.pair.length === 2
          && previous.pair[1] === pair[0]) {
        if (marked) chars[chars.length - 1].marked = true;
        chars.push({ c: pair[1], marked, space: false });
      } else {
        const tight = !previous || (previous.han && han) || isCjk(previous.pair.at(-1))
          || isCjk(pair[0]);
        pair.forEach((c, i) => chars.push({ c, marked, space: i === 0 && !tight }));
      }
      previous = { pair, han };
    }
    const fragment = document.createDocumentFragment();
    if (chars.length) fragment.append("…");
    let run = null;
    for (const { c, marked, space } of chars) {
      if (space) {
        fragment.append(" ");
        run = null;
      }
      if (!run || run.marked !== marked) {
        const node = marked ? document.createElement("mark") : document.createTextNode("");
        fragment.append(node);
        run = { node, marked };
      }
      run.node.textContent += c;
    }
    if (chars.length) fragment.append("…");
    return fragment;
  }

  /** Full-width punctuation: no space on either side. */
  function isCjk(c) {
    return /[\u2014\u2018-\u201f\u2026\u3000-\u303f\uff00-\uffef]/u.test(c);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** One result: title (a link), where it sits, and the snippet. */
  function resultBody(data, link) {
    link.href = new URL(data.url.replace(/^\//, ""), new URL(root || "./", document.baseURI)).href;
    link.append(element("span", "mlnotes-search-title", data.meta.title || data.url));
    const place = element("span", "mlnotes-search-place", data.meta.place || "");
    const excerpt = element("span", "mlnotes-search-excerpt");
    excerpt.append(showExcerpt(data.excerpt || ""));
    return [place, excerpt];
  }

  function debounce(fn) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), DEBOUNCE_MS);
    };
  }

  /* ---- the header's box: an ARIA combobox in the theme's search dialog ---- */
  function enhanceHeaderBox() {
    const dialog = document.getElementById("pst-search-dialog");
    const input = dialog && dialog.querySelector("input[name=q]");
    if (!input || document.getElementById("mlnotes-search-page")) return;
    const form = input.form;
    form.action = searchPage;
    const list = element("ul", "mlnotes-search-suggestions");
    list.id = "mlnotes-search-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "搜索结果");
    list.hidden = true;
    const status = element("p", "mlnotes-search-status visually-hidden");
    status.setAttribute("role", "status");
    form.after(list, status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.addEventListener("focus", warm, { once: true });

    let active = -1;
    let serial = 0;
    const options = () => [...list.querySelectorAll("[role=option]")];
    const setActive = (index) => {
      const all = options();
      active = all.length ? (index + all.length) % all.length : -1;
      all.forEach((o, i) => o.setAttribute("aria-selected", String(i === active)));
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", all[active].id);
        all[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };
    const close = () => {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    };
    const update = debounce(async () => {
      const query = input.value.trim();
      const mine = ++serial;
      if (!query) return close();
      let found;
      try {
        found = await search(query, [], 6);
      } catch (error) {
        if (mine === serial) status.textContent = error.message;
        return;
      }
      const { total, results } = found;
      if (mine !== serial) return;
      list.replaceChildren();
      results.forEach((data, i) => {
        const option = element("li", "mlnotes-search-option");
        option.id = `mlnotes-search-option-${i}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        const link = element("a");
        link.tabIndex = -1;
        link.append(...resultBody(data, link));
        option.append(link);
        list.append(option);
      });
      const all = element("li", "mlnotes-search-option mlnotes-search-all");
      all.id = "mlnotes-search-option-all";
      all.setAttribute("role", "option");
      all.setAttribute("aria-selected", "false");
      const more = element("a", null, total ? `查看全部 ${total} 条结果` : `没有找到“${query}”`);
      more.tabIndex = -1;
      more.href = `${searchPage}?q=${encodeURIComponent(query)}`;
      all.append(more);
      list.append(all);
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = total ? `找到 ${total} 条结果` : "没有结果";
      setActive(total ? 0 : -1);
    });
    input.addEventListener("input", update);
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (list.hidden) return;
        event.preventDefault();
        setActive(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        window.location.href = options()[active].querySelector("a").href;
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
    list.addEventListener("mousedown", (event) => event.preventDefault());
    dialog.addEventListener("close", close);
  }

  /* ---- the search page ---- */
  function searchPageUi() {
    const page = document.getElementById("mlnotes-search-page");
    if (!page) return;
    const form = page.querySelector("form");
    const input = form.querySelector("input[name=q]");
    const selects = [...form.querySelectorAll("select.mlnotes-search-facet")];
    const status = page.querySelector(".mlnotes-search-status");
    const list = page.querySelector(".mlnotes-search-results");
    const params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    // a facet from the URL is kept only if it is one of the options (the page's own)
    for (const select of selects) {
      const wanted = params.get(select.name);
      if ([...select.options].some((o) => o.value === wanted)) select.value = wanted;
    }
    let serial = 0;
    let shown = null;
    const more = element("button", "btn mlnotes-search-more", "显示更多结果");
    more.type = "button";
    more.hidden = true;
    more.addEventListener("click", showMore);
    list.after(more);

    function resultItem(data) {
      const item = element("li", "mlnotes-search-result");
      const link = element("a");
      const [place, excerpt] = resultBody(data, link);
      const heading = element("h2", "mlnotes-search-heading");
      heading.append(link);
      item.append(heading, place, excerpt);
      return item;
    }

    async function run() {
      const query = input.value.trim();
      const mine = ++serial;
      const url = new URL(window.location.href);
      url.search = "";
      if (query) url.searchParams.set("q", query);
      const facets = [];
      for (const select of selects) {
        if (select.value) {
          facets.push(select.value);
          url.searchParams.set(select.name, select.value);
        }
      }
      history.replaceState(null, "", url);
      if (!query) {
        list.replaceChildren();
        more.hidden = true;
        status.textContent = "";
        return;
      }
      status.textContent = "正在搜索…";
      let found;
      try {
        found = await search(query, facets, PAGE_SIZE);
      } catch (error) {
        if (mine === serial) status.textContent = error.message === UNAVAILABLE ? UNAVAILABLE : `搜索出错：${error.message}`;
        return;
      }
      const { total, relaxed, results } = found;
      if (mine !== serial) return;
      list.replaceChildren(...results.map(resultItem));
      shown = { query, facets, total, count: results.length };
      more.hidden = total <= results.length;
      const narrowed = facets.length ? "（已按所选条件筛选）" : "";
      status.textContent = !total ? `没有找到与“${query}”相关的页面${narrowed}。`
        : relaxed ? `没有页面包含“${query}”的全部词语；${total} 条结果包含其中一部分${narrowed}`
        : `“${query}”：${total} 条结果${narrowed}`;
    }

    /** The next PAGE_SIZE results under those shown (each costs a fragment download). */
    async function showMore() {
      const { query, facets, count } = shown;
      const mine = serial;
      const { total, results } = await search(query, facets, PAGE_SIZE, count);
      if (mine !== serial) return;
      const items = results.map(resultItem);
      list.append(...items);
      shown.count += results.length;
      more.hidden = total <= shown.count;
      if (items.length) items[0].querySelector("a").focus();
    }

    const later = debounce(run);
    input.addEventListener("input", later);
    selects.forEach((s) => s.addEventListener("change", run));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run();
    });
    run();
  }

  window.MLNotesSearch = { queryTerms, search, showExcerpt };
  const start = () => {
    enhanceHeaderBox();
    searchPageUi();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
