"""No stray spaces between Chinese characters at source line breaks.

Writers wrap long Chinese paragraphs over several source lines.  Markdown keeps
each line break as a newline in the text, which browsers (and LaTeX) show as a
space: "分布，\\n采样" reads "分布， 采样".  English needs that space, Chinese
must not have it.  This transform deletes a line break whose neighbours on both
sides are CJK characters or CJK punctuation, looking across inline markup (a
line may end in text and the next begin with a link), and leaves every other
line break alone.  Code, math and raw content are never touched.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform

__version__ = "1.0"

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
                    old.parent.replace(old, nodes.Text(new))


def _inside_verbatim(node, stop) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop:
        if isinstance(parent, VERBATIM):
            return True
        parent = parent.parent
    return False


def setup(app):
    app.add_transform(JoinCJKLines)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
