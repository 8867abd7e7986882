/* Pagefind, run in this worker for mlnotes-search.js.
 *
 * Why a worker of our own: Pagefind's browser API takes the search language from the
 * page's <html lang> ("zh-cn") and then cuts every query with the browser's word
 * segmenter (Intl.Segmenter), which splits 空洞卷积 into 空洞/卷/积, words the index does
 * not have.  Our index holds Chinese as character pairs and mlnotes-search.js cuts the
 * query into the same pairs; outside a document Pagefind leaves the terms as given
 * ("unknown" language, pagefind.js detectLanguage) and runs in this thread, with no
 * worker of its own.  Written against Pagefind 1.5.2; tests/test_search.py checks both
 * branches in the installed pagefind.js.
 */
let engine = null;

self.onmessage = async ({ data }) => {
  const { id, bundlePath, terms, offset = 0, limit } = data;
  try {
    engine ??= import(bundlePath + "pagefind.js").then((pagefind) => pagefind.createInstance({
      basePath: bundlePath,
      excerptLength: 48,
      // Meta fields written by _ext/mlnotes_search.py: title and place are shown, not
      // ranked; a title ranks through its words, far less on reference pages (API,
      // glossary), and so do the glossary terms a page uses.  Facets are words
      // that narrow the results (the search page adds them), not ranked either.
      ranking: { metaWeights: { title: 0, place: 0, facets: 0, titlewords: 6, refwords: 1.5, terms: 2 } },
    }));
    const pagefind = await engine;
    const { found, relaxed } = await searchAll(pagefind, terms);
    // Only the results shown are read (one fragment file each), not every match.
    const results = await Promise.all(found.results.slice(offset, offset + limit).map(async (result) => {
      const page = await result.data();
      return { url: page.url, meta: page.meta, excerpt: page.excerpt };
    }));
    self.postMessage({ id, total: found.results.length, relaxed, results });
  } catch (error) {
    self.postMessage({ id, error: String(error) });
  }
};

/* Pages that have every word of the query, best first.  If no page has them all, pages
 * that have some ("relaxed"): those with the most of the words first, then by the sum of
 * their scores for each word (each word searched alone).  A question such as
 * 为什么 ReLU 会死 has pairs (会死) its page does not, yet the page is clear from the rest.
 * Facet words (zzz…zzz) stay required. */
async function searchAll(pagefind, terms) {
  const found = await pagefind.search(terms);
  const words = terms.split(" ").filter(Boolean);
  const facets = words.filter((word) => word.startsWith("zzz"));
  const plain = words.filter((word) => !word.startsWith("zzz"));
  if (found.results.length || plain.length < 2) return { found, relaxed: false };
  const pages = new Map();
  for (const word of plain) {
    const alone = await pagefind.search([word, ...facets].join(" "));
    for (const result of alone.results) {
      const page = pages.get(result.id) ?? { result, words: 0, score: 0 };
      page.words += 1;
      page.score += result.score;
      pages.set(result.id, page);
    }
  }
  const ranked = [...pages.values()].sort((a, b) => b.words - a.words || b.score - a.score);
  return { found: { results: ranked.map((page) => page.result) }, relaxed: true };
}
