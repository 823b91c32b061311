"""Text helpers of the site's pages: file stems, the template environment, reading lines
as HTML, a method's one-paragraph description."""

from __future__ import annotations

import html
import re
import sys

import jinja2
import markupsafe

from bench.api.registry import METHODS


def slug(key: tuple) -> str:
    """A table page's file stem: its suite, dataset, direction and stream."""
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", str(p)) for p in key)


def breakable(text: str) -> markupsafe.Markup:
    """A column name that may wrap after each underscore and before a severity
    (gaussian_<wbr>noise<wbr>@5) when the table needs the room."""
    text = str(markupsafe.escape(text)).replace("_", "_<wbr>").replace("@", "<wbr>@")
    return markupsafe.Markup(text)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("bench.site", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["breakable"] = breakable
    return env


def markdown_line(text: str) -> str:
    """A reading line (Markdown: `code`, **bold**) as HTML."""
    out = html.escape(text.lstrip("- ").strip())
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", out)


def method_doc(method: str) -> str:
    """The first paragraph of the method class's docstring ('' when not registered)."""
    if method not in METHODS:
        return ""
    cls = METHODS.get(method)
    doc = (cls.__doc__ or "").strip() or (sys.modules[cls.__module__].__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())
