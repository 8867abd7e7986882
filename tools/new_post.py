"""Write a new post with valid front matter: ``make new-post TITLE=... CATEGORY=...``.

The categories are read from ``blog_categories`` in ``conf.py`` (the one list);
the file name is the slug, given with ``--slug`` or derived from an ASCII title.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = """\
---
date: {date}
category: {category}
tags: []
excerpt: 一两句话的摘要，显示在首页和订阅源里。
draft: true
---

# {title}

开头一段：这篇文章回答什么问题，读者读完能做什么。

## 参考文献

```{{footbibliography}}
```
"""


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    categories = runpy.run_path(str(ROOT / "conf.py"))["blog_categories"]
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--title", required=True)
    parser.add_argument("--category", required=True, help="one of: " + ", ".join(categories))
    parser.add_argument("--slug", help="file name without .md (ASCII); default: from the title")
    parser.add_argument("--date", default=dt.date.today().isoformat())
    args = parser.parse_args(argv)

    if args.category not in categories:
        parser.error(f"unknown category {args.category!r}; use one of: " + ", ".join(categories))
    slug = args.slug or slugify(args.title)
    if not slug or slugify(slug) != slug:
        parser.error("give an ASCII --slug such as 'flash-attention' (lower case, digits, '-')")
    path = ROOT / "posts" / f"{slug}.md"
    if path.exists():
        parser.error(f"{path.relative_to(ROOT)} already exists")
    path.write_text(TEMPLATE.format(date=args.date, category=args.category, title=args.title),
                    encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} (draft: true; set it to false to publish)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
