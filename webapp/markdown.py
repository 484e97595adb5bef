"""Markdown for task descriptions and comments, rendered safely when shown.

CommonMark through markdown-it-py with raw HTML off (any HTML typed is shown as text), then
the allow-list sanitiser nh3 over the result as a second wall: only the tags and attributes
below survive, links may only be http(s)/mailto or paths on this site and get
`rel="noopener nofollow ugc"`, and images only from this site's attachment routes (any other
image becomes a link). The stored text is never changed: rendering happens at display time.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

# Paths of an attachment's file or preview (webapp/attachments/views.py); checked by
# tests/attachments/test_markdown.py against the routes themselves.
ATTACHMENT_IMAGE_PATH = re.compile(r"/tasks/[1-9][0-9]{0,9}/attachments/[1-9][0-9]{0,9}"
                                   r"(?:/thumbnail)?")
ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h3", "h4", "h5", "h6", "a", "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener nofollow ugc"
# A task's page has its own h1 and h2s: Markdown headings start at h3.
HEADING_SHIFT = 2

# `breaks`: a line break typed in a description stays a line break (as in GitHub comments),
# so plain-text descriptions written before Markdown keep their shape.
_parser = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False,
                                    "typographer": False})


def _render_image(self, tokens, idx, options, env):
    """Images only from our attachments; any other image becomes a plain link to it."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    if ATTACHMENT_IMAGE_PATH.fullmatch(src):
        return self.image(tokens, idx, options, env)
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}">{escape(alt)}</a>'


_parser.add_render_rule("image", _render_image)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if ATTACHMENT_IMAGE_PATH.fullmatch(value) else None
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return value


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for the Markdown text (empty for no text)."""
    if not text:
        return Markup("")
    tokens = _parser.parse(text)
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            level = min(6, int(token.tag[1]) + HEADING_SHIFT)
            token.tag = f"h{level}"
    html = _parser.renderer.render(tokens, _parser.options, {})
    # Safe to mark: the allow-list sanitiser's output is the whole string.
    return Markup(nh3.clean(  # noqa: S704
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        attribute_filter=_filter_attribute,
        strip_comments=True,
    ))
