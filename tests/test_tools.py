"""``make new-post`` writes a post that the front-matter validator accepts."""

import runpy
from pathlib import Path

import new_post
import pytest
from mlnotes_frontmatter import parse_post

ROOT = Path(__file__).resolve().parents[1]
CONF = runpy.run_path(str(ROOT / "conf.py"))


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    (tmp_path / "posts").mkdir()
    (tmp_path / "conf.py").write_text((ROOT / "conf.py").read_text(encoding="utf-8"))
    monkeypatch.setattr(new_post, "ROOT", tmp_path)
    return tmp_path


def test_new_post_is_valid(tmp_root):
    assert new_post.main(["--title", "Flash Attention", "--category", "Deep Learning",
                          "--date", "2026-02-01"]) == 0
    text = (tmp_root / "posts" / "flash-attention.md").read_text(encoding="utf-8")
    meta, errors = parse_post(text, categories=CONF["blog_categories"],
                              authors=CONF["blog_authors"])
    assert errors == []
    assert meta["category"] == "Deep Learning" and meta["draft"] is True
    assert "# Flash Attention" in text


def test_unknown_category_is_refused(tmp_root, capsys):
    with pytest.raises(SystemExit):
        new_post.main(["--title", "x", "--category", "Physics"])
    assert "unknown category 'Physics'" in capsys.readouterr().err


def test_chinese_title_needs_a_slug(tmp_root, capsys):
    with pytest.raises(SystemExit):
        new_post.main(["--title", "注意力机制", "--category", "Deep Learning"])
    assert "--slug" in capsys.readouterr().err
    assert new_post.main(["--title", "注意力机制", "--category", "Deep Learning",
                          "--slug", "attention"]) == 0
