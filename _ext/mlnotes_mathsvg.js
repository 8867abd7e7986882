// Renders TeX to SVG with MathJax (mathjax-full, the npm package of the MathJax the site
// used in the browser), for _ext/mlnotes_mathsvg.py, which runs it once per build process.
//
// Protocol: one JSON object per line on stdin, one answer per line on stdout.
//   {"tex": "...", "display": true}  ->  {"html": "<mjx-container ...>", "glyphs": {"MJX-TEX-I-1D453": "<path .../>"}}
//                                    or  {"error": "Undefined control sequence \\foo"}
//   {"glyphs": ["MJX-TEX-I-1D465"]}  ->  {"glyphs": {"MJX-TEX-I-1D465": "<path .../>"}}
//   {"stylesheet": true}             ->  {"css": "mjx-container[jax=\"SVG\"] {...}"}
//   {"version": true}                ->  {"version": "3.2.2"}
//
// Each formula's SVG refers to its glyphs by id (<use xlink:href="#MJX-TEX-I-1D453">); the
// glyphs it used are returned beside it, and the page gets one definition of each glyph it
// uses (MathJax's "global" font cache, made per page by the Python side).  The assistive
// MathML that MathJax adds in the browser is kept: screen readers read it, the SVG is hidden
// from them.
"use strict";

const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { SVG } = require("mathjax-full/js/output/svg.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AssistiveMmlHandler } = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");
const readline = require("readline");

const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));
const tex = new TeX({
  // every package the browser build (tex-chtml.js) could autoload, except: bussproofs
  // (needs a second typesetting pass that convert() does not make), and noerrors and
  // noundefined, which would draw a mistake in red instead of failing the build
  packages: AllPackages.filter((name) => !["bussproofs", "noerrors", "noundefined"].includes(name)),
  formatError: (jax, err) => { throw err; },
});
const svg = new SVG({ fontCache: "global" });
const doc = mathjax.document("", { InputJax: tex, OutputJax: svg });

// The formula's size on the page is given in ex and follows the surrounding text.  Text
// MathJax has no glyph for (Chinese in \text{...}) is drawn in the page's own font at
// x-height / ex of the math em (0.884 here, near the size of the text around it, as the
// browser build drew it); MathJax cannot measure that text here and counts
// cjkCharWidth of the math em for each Chinese character, which must be that same
// fraction, or a gap would follow each character.
const EM = 16;
const EX = 8;
const TEXT_SCALE = svg.font.params.x_height * EM / EX;
adaptor.options.cjkCharWidth = TEXT_SCALE;

function render(source, display) {
  svg.fontCache.clearCache();
  const node = doc.convert(source, { display, em: EM, ex: EX, containerWidth: 80 * EM });
  const glyphs = {};
  for (const path of adaptor.childNodes(svg.fontCache.getCache())) {
    glyphs[adaptor.getAttribute(path, "id")] = adaptor.outerHTML(path);
  }
  return { html: adaptor.outerHTML(node), glyphs };
}

// A glyph by its id, for a page whose formulas were drawn by another process: the id is
// "MJX-" + the variant's cache id (TEX-I: italic) + "-" + the code point in hex, and the
// definition is what the font cache writes (FontCache.cachePath).
const variantOf = {};
for (const [name, variant] of Object.entries(svg.font.variant)) {
  if (variant.cacheID) variantOf[variant.cacheID] = name;
}

function glyphs(ids) {
  const found = {};
  for (const id of ids) {
    const match = /^MJX-(.+)-([0-9A-F]+)$/.exec(id);
    const variant = match && variantOf[match[1]];
    const data = variant && svg.font.getChar(variant, parseInt(match[2], 16));
    if (data && "p" in data[3]) {
      const d = data[3].p ? "M" + data[3].p + "Z" : "";
      found[id] = adaptor.outerHTML(svg.svg("path", { id, d }));
    }
  }
  return found;
}

function answer(request) {
  if (request.version) return { version: mathjax.version };
  if (request.glyphs) return { glyphs: glyphs(request.glyphs) };
  if (request.stylesheet) return { css: adaptor.textContent(svg.styleSheet(doc)) };
  try {
    return render(request.tex, Boolean(request.display));
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  process.stdout.write(JSON.stringify(answer(JSON.parse(line))) + "\n");
});
