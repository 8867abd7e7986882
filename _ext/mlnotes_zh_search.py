"""Chinese full-text search that works in the browser with Sphinx 9.0.

Sphinx's Chinese search segments text with jieba and stems Latin words with the
English Snowball stemmer.  Sphinx 9.0 writes ``window.Stemmer =
ChineseStemmer;`` into ``language_data.js``, naming the JavaScript class after
the language, but the class the English stemmer defines is ``EnglishStemmer``.
The search page then dies with ``ReferenceError: ChineseStemmer is not
defined`` and finds nothing (sphinx-doc/sphinx#14229; fixed upstream by #14416,
not in any 9.0.x release).

We register a subclass of Sphinx's own ``SearchChinese`` for ``zh`` whose
JavaScript stemmer code names the right class.  Indexing is unchanged; on a
Sphinx with the fix the generated code is the same as Sphinx's own.

The subclass also loads ``zh_search_terms.txt`` (beside this file) into jieba,
so that domain terms such as 扩散模型 or 注意力机制 are indexed as words as
well as in their parts, and a reader who types the whole term finds it.

And it does not reload jieba's *default* dictionary as a user dictionary, which
Sphinx's ``SearchChinese.__init__`` does on every build when no ``dict`` option
is given: 349,000 ``add_word`` calls, about 3 s, half of a no-change rebuild of
this site (found with cProfile).  jieba already uses that dictionary; user
dictionaries are loaded lazily, the first time there is text to segment.

Stemming: every word of the index (Chinese ones too) goes through the English
Snowball stemmer, and Sphinx memoises stems per document only; the stemmer's
answers are kept for the whole build here (3% of a build of 1,000 posts).
"""

from __future__ import annotations

import functools
from pathlib import Path

import snowballstemmer
from sphinx.search import _MINIFIED_JS_PATH, SearchLanguage
from sphinx.search.zh import JIEBA_DEFAULT_DICT, SearchChinese, jieba_load_userdict

__version__ = "1.0"
# Bump when the doctrees or env data this extension stores change shape, so that
# Sphinx discards pickled environments made by an older version.
ENV_VERSION = 1

TERMS = Path(__file__).with_name("zh_search_terms.txt")


def _stemmer_code(rawcode: str) -> str:
    """Minified base + language stemmer, exported under the class it defines."""
    class_name = "".join(part.title() for part in rawcode.removesuffix("-stemmer.js").split("_"))
    return "\n".join((
        (_MINIFIED_JS_PATH / "base-stemmer.js").read_text(encoding="utf-8"),
        (_MINIFIED_JS_PATH / rawcode).read_text(encoding="utf-8"),
        f"window.Stemmer = {class_name}Stemmer;",
    ))


class SearchChineseFixed(SearchChinese):
    """``SearchChinese`` with a JavaScript stemmer that exists, and our terms."""

    js_stemmer_rawcode = ""  # served through js_stemmer_code below instead
    js_stemmer_code = _stemmer_code(SearchChinese.js_stemmer_rawcode)

    def __init__(self, options: dict[str, str]) -> None:
        # Not SearchChinese.__init__: it reloads jieba's default dictionary.
        SearchLanguage.__init__(self, options)
        self.latin_terms: set[str] = set()
        self.stemmer = _STEMMER
        extra = options.get("dict")
        self._user_dicts = [extra] if extra and extra != JIEBA_DEFAULT_DICT else []
        self._user_dicts.append(str(TERMS))

    def split(self, input: str) -> list[str]:
        while self._user_dicts:
            jieba_load_userdict(self._user_dicts.pop(0))
        return super().split(input)

    def stem(self, word: str) -> str:
        # SearchChinese.stem, with the Snowball stemmer's answer kept for the whole
        # build: Sphinx memoises stems per document only, and every word (Chinese
        # ones too) goes through the stemmer (3% of a 1,000-post build).
        stemmed = _snowball(word.lower())
        if len(word) >= 3 > len(stemmed) and word in self.latin_terms:
            return word.lower()
        return stemmed


_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=1 << 18)
def _snowball(word: str) -> str:
    return _STEMMER.stemWord(word)


def setup(app):
    app.add_search_language(SearchChineseFixed)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
