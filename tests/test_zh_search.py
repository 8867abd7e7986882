"""``mlnotes_zh_search``: jieba's prefix dictionary kept by the build, loaded faster.

Each check runs in a fresh interpreter: jieba's tokenizer is process-wide state.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXT = Path(__file__).resolve().parents[1] / "_ext"

SAME_AS_JIEBA = """
import sys, jieba, mlnotes_zh_search as zh
from pathlib import Path
cache = Path(sys.argv[1])
zh.load_prefix_dict(cache)                  # jieba's own initialisation, then kept
first = dict(jieba.dt.FREQ), jieba.dt.total
assert zh.prefix_dict_file(cache).is_file()
jieba.dt.FREQ, jieba.dt.total, jieba.dt.initialized = {}, 0, False
zh.load_prefix_dict(cache)                  # from the kept file
assert jieba.dt.initialized
assert (jieba.dt.FREQ, jieba.dt.total) == first, "not jieba's dictionary"
reference = jieba.Tokenizer()
reference.initialize()
assert (reference.FREQ, reference.total) == first
text = "扩散模型的采样器把噪声预测换成条件预测"
assert list(jieba.cut_for_search(text)) == list(reference.cut_for_search(text))
print(len(first[0]))
"""


def run(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(EXT)})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kept_prefix_dictionary_is_jiebas(tmp_path):
    assert int(run(SAME_AS_JIEBA, str(tmp_path))) > 300_000


def test_a_damaged_file_is_rebuilt(tmp_path):
    code = """
import sys, jieba, mlnotes_zh_search as zh
from pathlib import Path
cache = Path(sys.argv[1])
path = zh.prefix_dict_file(cache)
path.write_bytes(b"MLJ1 and then nothing useful")
zh.load_prefix_dict(cache)
assert jieba.dt.initialized and len(jieba.dt.FREQ) > 300_000
assert path.stat().st_size > 1_000_000          # written again, whole
"""
    run(code, str(tmp_path))
