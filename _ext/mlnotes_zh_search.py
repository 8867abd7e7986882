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

jieba's prefix dictionary (498,000 words and prefixes with their frequencies)
comes from jieba's own cache, a ``marshal`` file that takes 0.47 s to load: a
fifth of a one-post edit of this site.  The same dictionary, as jieba builds
it from its default word list, is kept in the doctree directory as a list of
words and an array of frequencies, which load in 0.13 s (:func:`load_prefix_dict`).
"""

from __future__ import annotations

import array
import functools
import os
import struct
import tempfile
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
        self._jieba_ready = False

    def split(self, input: str) -> list[str]:
        if not self._jieba_ready:   # the first text to segment (not on every call)
            if _PREFIX_DICT["dir"] is not None:
                load_prefix_dict(_PREFIX_DICT["dir"])
            for user_dict in self._user_dicts:
                jieba_load_userdict(user_dict)
            self._jieba_ready = True
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


#: where this build keeps jieba's prefix dictionary (set when the builder starts)
_PREFIX_DICT: dict[str, Path | None] = {"dir": None}
_HEADER = struct.Struct("<4sQQQ")   # magic, number of entries, total, bytes of words
_MAGIC = b"MLJ1"


def prefix_dict_file(directory: Path) -> Path:
    """The cache for this jieba and this default dictionary (size and mtime in the name)."""
    import jieba

    source = Path(jieba.__file__).with_name(jieba.DEFAULT_DICT_NAME).stat()
    return Path(directory, f"jieba-{jieba.__version__}-{source.st_size}-{source.st_mtime_ns}.dict")


def load_prefix_dict(directory: Path) -> None:
    """Initialise jieba's default tokenizer from *directory*, or initialise it as jieba
    does (from its own cache or its word list) and keep the result there."""
    import jieba

    tokenizer = jieba.dt
    if tokenizer.initialized or tokenizer.dictionary != jieba.DEFAULT_DICT or tokenizer.cache_file:
        return
    path = prefix_dict_file(directory)
    with tokenizer.lock:
        try:
            data = path.read_bytes()
            magic, count, total, size = _HEADER.unpack_from(data)
            offset = _HEADER.size
            words = data[offset:offset + size].decode("utf-8").split("\n")
            freqs = array.array("q")
            freqs.frombytes(data[offset + size:])
            if magic != _MAGIC or not count == len(words) == len(freqs):
                raise ValueError(path)
            tokenizer.FREQ, tokenizer.total = dict(zip(words, freqs, strict=True)), total
            tokenizer.initialized = True
        except (OSError, ValueError, struct.error):
            tokenizer.initialize()
            save_prefix_dict(path, tokenizer.FREQ, tokenizer.total)


def save_prefix_dict(path: Path, freq: dict[str, int], total: int) -> None:
    words = "\n".join(freq).encode("utf-8")
    body = _HEADER.pack(_MAGIC, len(freq), total, len(words)) + words + \
        array.array("q", freq.values()).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    os.replace(tmp, path)


def remember_cache_dir(app) -> None:
    _PREFIX_DICT["dir"] = Path(app.doctreedir)


def setup(app):
    app.add_search_language(SearchChineseFixed)
    app.connect("builder-inited", remember_cache_dir)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
