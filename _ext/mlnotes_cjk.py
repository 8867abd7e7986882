"""Chinese typography in Markdown: no stray spaces at line breaks, working bold.

Writers wrap long Chinese paragraphs over several source lines.  Markdown keeps
each line break as a newline in the text, which browsers (and LaTeX) show as a
space: "分布，\\n采样" reads "分布， 采样".  English needs that space, Chinese
must not have it.  This transform deletes a line break whose neighbours on both
sides are CJK characters or CJK punctuation, looking across inline markup (a
line may end in text and the next begin with a link), and leaves every other
line break alone.  Code, math and raw content are never touched.

Emphasis next to Chinese text: CommonMark decides whether ``**`` opens or closes
emphasis from its neighbours, and a delimiter between a Chinese character and
punctuation (``所以**$N$ 个**``, ``的**（注意）**``) is neither, so the asterisks
are printed.  :func:`cjk_friendly_scan_delims` applies the rule of the
"CJK-friendly emphasis" proposal for CommonMark: a CJK character on the far side
counts like whitespace or punctuation when deciding flanking.  It replaces
markdown-it's ``StateInline.scanDelims``, which MyST uses to parse every page.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

__version__ = "1.0"
# Bump when what this extension does to the doctrees changes: pages are re-read.
ENV_VERSION = 2

CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                 r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
VERBATIM = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block, nodes.raw,
            nodes.comment, nodes.doctest_block)


def is_cjk(char: str) -> bool:
    return bool(char) and bool(CJK.match(char))


def join_lines(texts: list[str]) -> list[str]:
    """Remove CJK-to-CJK line breaks from consecutive text pieces.

    >>> join_lines(["分布，\\n采样", "。"])
    ['分布，采样', '。']
    >>> join_lines(["见\\n", "DDPM 页\\n", "的公式"])    # Latin on one side: kept
    ['见\\n', 'DDPM 页', '的公式']
    >>> join_lines(["例如\\n", "扩散模型"])
    ['例如', '扩散模型']
    """
    out = list(texts)
    for i, text in enumerate(out):
        if "\n" not in text:
            continue
        pieces = []
        for j, char in enumerate(text):
            if char == "\n":
                before = text[j - 1] if j else _last(out[:i])
                after = text[j + 1] if j + 1 < len(text) else _first(texts[i + 1:])
                if is_cjk(before) and is_cjk(after):
                    continue
            pieces.append(char)
        out[i] = "".join(pieces)
    return out


def _last(texts: list[str]) -> str:
    for text in reversed(texts):
        if text:
            return text[-1]
    return ""


def _first(texts: list[str]) -> str:
    for text in texts:
        if text:
            return text[0]
    return ""


class JoinCJKLines(SphinxTransform):
    # after parsing, before Sphinx's smart quotes and the search indexer
    default_priority = 400

    def apply(self) -> None:
        for block in self.document.findall(nodes.TextElement):
            if isinstance(block, VERBATIM) or isinstance(block.parent, nodes.TextElement):
                continue  # verbatim, or inline markup (handled with its paragraph)
            texts = list(block.findall(nodes.Text))
            if not any("\n" in t for t in texts):
                continue
            # verbatim pieces (inline math, code) take part as neighbours, unchanged
            joined = join_lines([str(t) for t in texts])
            for old, new in zip(texts, joined, strict=True):
                if new != str(old) and not _inside_verbatim(old, block):
                    _replace_text(old, nodes.Text(new))


def _replace_text(old: nodes.Text, new: nodes.Text) -> None:
    """Replace *old* itself: ``Element.replace`` finds the first *equal* child, and
    Text nodes are strings, so it would hit an earlier "\n" of the same paragraph."""
    parent = old.parent
    index = next(i for i, child in enumerate(parent.children) if child is old)
    parent.children[index] = new
    new.parent = parent


def _inside_verbatim(node, stop) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop:
        if isinstance(parent, VERBATIM):
            return True
        parent = parent.parent
    return False


def cjk_friendly_scan_delims(self, start: int, canSplitWord: bool):
    """markdown-it's ``scanDelims`` with CJK characters allowed beside delimiters.

    >>> from markdown_it import MarkdownIt
    >>> use_cjk_friendly_emphasis()
    >>> MarkdownIt().render("所以**$N$ 个进程**相同。")
    '<p>所以<strong>$N$ 个进程</strong>相同。</p>\\n'
    >>> MarkdownIt().render("这是**（注意）**的例子。")
    '<p>这是<strong>（注意）</strong>的例子。</p>\\n'
    >>> MarkdownIt().render("a**b**c and 2 * 3 * 4")
    '<p>a<strong>b</strong>c and 2 * 3 * 4</p>\\n'
    """
    from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
    from markdown_it.rules_inline.state_inline import Scanned

    pos, maximum, marker = start, self.posMax, self.src[start]
    last = self.src[start - 1] if start > 0 else " "
    while pos < maximum and self.src[pos] == marker:
        pos += 1
    count = pos - start
    nxt = self.src[pos] if pos < maximum else " "

    last_punct = isMdAsciiPunct(ord(last)) or isPunctChar(last)
    next_punct = isMdAsciiPunct(ord(nxt)) or isPunctChar(nxt)
    last_space, next_space = isWhiteSpace(ord(last)), isWhiteSpace(ord(nxt))
    last_cjk, next_cjk = is_cjk(last), is_cjk(nxt)

    left_flanking = not (next_space or (next_punct and not (last_space or last_punct or last_cjk)))
    right_flanking = not (last_space or (last_punct and not (next_space or next_punct or next_cjk)))
    can_open = left_flanking and (canSplitWord or not right_flanking or last_punct)
    can_close = right_flanking and (canSplitWord or not left_flanking or next_punct)
    return Scanned(can_open, can_close, count)


def use_cjk_friendly_emphasis() -> None:
    from markdown_it.rules_inline.state_inline import StateInline

    StateInline.scanDelims = cjk_friendly_scan_delims



def setup(app):
    use_cjk_friendly_emphasis()
    app.add_transform(JoinCJKLines)
    return {"version": __version__, "env_version": ENV_VERSION,
            "parallel_read_safe": True, "parallel_write_safe": True}
