"""Figures: lazy, sized, two densities, fewer colours (``_ext/mlnotes_images.py``)."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import mlnotes_images
import pytest
from bs4 import BeautifulSoup
from conftest import build, copy_root
from PIL import Image, ImageDraw


def draw(path: Path, size: tuple[int, int], dpi: int | None) -> bytes:
    """A plot-like RGBA image: antialiased lines of a few colours on white."""
    image = Image.new("RGBA", size, "white")
    pen = ImageDraw.Draw(image)
    for i, colour in enumerate(["#1f77b4", "#ff7f0e", "#2ca02c"]):
        pen.line([(0, size[1] * (i + 1) // 4), (size[0], size[1] // (i + 2))], fill=colour, width=3)
    image = image.resize((size[0] * 2, size[1] * 2)).resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    path.write_bytes(out.getvalue())
    return out.getvalue()


def draw_figures(srcdir: Path) -> Path:
    draw(srcdir / "plot.png", (440, 220), 220)
    draw(srcdir / "photo.png", (300, 200), None)
    draw(srcdir / "sized.png", (400, 200), 220)
    return srcdir


@pytest.fixture()
def project(tmp_path):
    return draw_figures(copy_root("images", tmp_path))


def images(html: Path) -> dict[str, dict]:
    soup = BeautifulSoup((html / "index.html").read_text(encoding="utf-8"), "lxml")
    return {img["alt"]: img.attrs for img in soup.find_all("img")}


@pytest.mark.sphinx("html", testroot="images", srcdir="images-densities")
def test_a_high_density_figure_comes_at_two_densities(app, warning):
    project = draw_figures(app.srcdir)
    app.build()
    assert warning.getvalue() == ""
    html = app.outdir
    img = images(html)["a plot drawn at 220 dpi"]
    # shown at half its pixels, in a box that does not move, loaded when about to be seen
    assert (img["width"], img["height"], img["loading"]) == ("220", "110", "lazy")
    assert img["src"] == "_images/plot.1x.png"
    assert img["srcset"] == "_images/plot.1x.png 1x, _images/plot.png 2x"
    figures = html / "_images"
    with Image.open(figures / "plot.png") as full, Image.open(figures / "plot.1x.png") as half:
        assert full.size == (440, 220) and half.size == (220, 110)
        assert full.mode == half.mode == "P"   # 8-bit palette
        assert round(full.info["dpi"][0]) == 220 and round(half.info["dpi"][0]) == 110
    assert (html / "_images" / "plot.png").stat().st_size < (project / "plot.png").stat().st_size


@pytest.mark.sphinx("html", testroot="images", srcdir="images-others")
def test_other_images_are_left_as_they_are(app):
    project = draw_figures(app.srcdir)
    app.build()
    html = app.outdir
    img = images(html)["an image with no resolution of its own"]
    assert (img["width"], img["height"], img["loading"]) == ("300", "200", "lazy")
    assert img["src"] == "_images/photo.png" and "srcset" not in img
    assert (html / "_images" / "photo.png").read_bytes() == (project / "photo.png").read_bytes()
    assert not (html / "_images" / "photo.1x.png").exists()
    # the author's size wins; the densities are offered all the same
    sized = images(html)["a high-density image the author sized"]
    assert "width: 100px" in sized["style"] and "height" not in sized
    assert sized["srcset"] == "_images/sized.1x.png 1x, _images/sized.png 2x"


def test_a_second_build_gives_the_same_files(project):
    build(project)
    html = project / "_build" / "html" / "_images"
    first = {path.name: path.read_bytes() for path in html.iterdir()}
    build(project, freshenv=True)   # Sphinx copies the originals again
    assert {path.name: path.read_bytes() for path in html.iterdir()} == first


def test_png_resolution_is_read_from_the_file(tmp_path):
    assert mlnotes_images.png_dpi(draw(tmp_path / "a.png", (10, 10), 220)) == pytest.approx(220, abs=0.1)
    assert mlnotes_images.png_dpi(draw(tmp_path / "b.png", (10, 10), None)) == 0


BUDGETS = tomllib.loads((Path(__file__).parent / "page_budgets.toml").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_site_figures_are_light_and_sized(site_html):
    """Every figure file within the budget; every image of a post sized and lazy."""
    limit = BUDGETS["figures"]["max_kb"] * 1000
    heavy = {path.name: path.stat().st_size for path in (site_html / "_images").glob("*.png")
             if path.stat().st_size > limit}
    assert heavy == {}
    shown = 0
    for page in (site_html / "posts").glob("*.html"):
        for img in BeautifulSoup(page.read_text(encoding="utf-8"), "lxml").select("article img"):
            if not img["src"].startswith("../_images/"):
                continue
            shown += 1
            assert img.get("loading") == "lazy" and img.get("width") and img.get("height"), (page.name, img)
            assert "srcset" in img.attrs, (page.name, img["src"])
    assert shown
