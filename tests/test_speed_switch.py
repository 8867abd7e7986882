"""The speed patches change nothing but the time a build takes (``_ext/mlnotes_core.py``).

A project with what the patches touch (templates and assets on every page, YAML front
matter, ABlog's excerpts on archive pages and feeds, citations formatted by pybtex) is
built twice, each in a fresh ``sphinx-build`` process (the patches are process-wide):
with the patches, and with ``-D mlnotes_speed_patches=0``.  Every page is the same, byte
for byte.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from conftest import assert_same_html, feeds, sphinx_build, write_post
from test_blog import make_blog

TESTS = Path(__file__).resolve().parent

BIB = """\
@article{ho2020ddpm,
  author  = {Ho, Jonathan and Jain, Ajay and Abbeel, Pieter},
  title   = {Denoising Diffusion Probabilistic Models},
  journal = {Advances in Neural Information Processing Systems},
  volume  = {33},
  pages   = {6840--6851},
  year    = {2020},
}
"""


def build_into(srcdir: Path, outdir: Path, *extra: str) -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    result = sphinx_build(srcdir, outdir / "html", "-d", str(outdir / "doctrees"), *extra, env=env)
    assert result.returncode == 0, result.stderr


def test_the_site_is_the_same_without_the_speed_patches(tmp_path):
    srcdir, _ = make_blog(tmp_path)
    (srcdir / "refs.bib").write_text(BIB, encoding="utf-8")
    write_post(srcdir, "cited", dt.date(2026, 1, 20), category="Generative Model", tags=("扩散",),
               body="扩散模型 {footcite}`ho2020ddpm` 一步步去噪。",
               extra="")
    text = (srcdir / "posts" / "cited.md").read_text(encoding="utf-8")
    (srcdir / "posts" / "cited.md").write_text(text + "\n## 参考文献\n\n```{footbibliography}\n```\n",
                                               encoding="utf-8")
    fast, plain = tmp_path / "fast", tmp_path / "plain"
    build_into(srcdir, fast)
    build_into(srcdir, plain, "-D", "mlnotes_speed_patches=0")
    pages = assert_same_html(fast / "html", plain / "html")
    assert {"index.html", "posts/cited.html", "blog/tag/扩散.html"} <= pages
    assert "Denoising diffusion probabilistic models" in (fast / "html" / "posts" / "cited.html").read_text(
        encoding="utf-8")
    assert feeds(fast) == feeds(plain)
    # the patches were on in one build and off in the other (the Jinja bytecode cache is theirs)
    assert (fast / "doctrees" / "jinja2").is_dir() and not (plain / "doctrees" / "jinja2").exists()
