"""In Chromium: upload a file with the progress shown, see its preview, comment, edit the
comment, delete the file; all in place, under the strict CSP, with hostile Markdown in the
task's description running nothing."""

from __future__ import annotations

import random
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import browser_log_in

pytestmark = pytest.mark.browser

HOSTILE_DESCRIPTION = (
    "**Plan** for the week\n\n<script>alert('script')</script>\n\n"
    "<img src=x onerror=\"alert('img')\">\n\n[click](javascript:alert('link'))\n\n"
    "![pixel](https://evil.example/pixel.png)"
)


def noisy_png(path, size=(900, 700)) -> None:
    """A picture that compresses badly (about 1.9 MB), so the upload takes a moment."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    image.save(path, "PNG")


def test_user_uploads_previews_comments_edits_and_deletes_in_place(page, user, make_task,
                                                                    local_storage, tmp_path):
    task_id = make_task(user, "Browser task", description=HOSTILE_DESCRIPTION)
    picture = tmp_path / "holiday.png"
    noisy_png(picture)
    violations: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    browser_log_in(page, user)
    page.goto(f"/tasks/{task_id}")
    expect(page.locator(".description strong")).to_have_text("Plan")
    page.evaluate("""() => {
        window.__taskdeckMarker = "still here";
        window.__progress = [];
        document.addEventListener("htmx:xhr:progress",
            (e) => window.__progress.push([e.detail.loaded, e.detail.total]));
    }""")

    # Upload: the progress bar shows and fills, the list updates in place.
    page.get_by_label("Add files").set_input_files(str(picture))
    page.get_by_role("button", name="Upload").click()
    item = page.locator("#attachment-list li", has_text="holiday.png")
    expect(item).to_be_visible()
    progress = page.locator("#upload-progress")
    expect(progress).to_be_visible()
    assert progress.evaluate("bar => bar.value === bar.max && bar.max > 1_000_000")
    # htmx reports the upload's progress too: the whole request body, file included.
    uploads = [event for event in page.evaluate("window.__progress")
               if event[1] > picture.stat().st_size]
    assert uploads and uploads[-1][0] == uploads[-1][1]
    assert progress.evaluate("bar => bar.max") == uploads[-1][1]
    expect(item).to_contain_text("1.8 MiB")
    expect(item).to_contain_text("image/png")
    expect(page.locator("#flash")).to_contain_text("Attached “holiday.png”.")
    assert page.get_by_label("Add files").input_value() == ""

    # The preview is the server's thumbnail: 400 px on its longest side.
    preview = item.locator("img")
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=preview.element_handle())
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [400, 311]

    # Comment, then edit it in place.
    page.get_by_label("Comment", exact=True).fill("Looks **great**")
    page.get_by_role("button", name="Comment", exact=True).click()
    comment = page.locator("#timeline li.comment", has_text="Looks great")
    expect(comment.locator(".comment-body strong")).to_have_text("great")
    expect(page.get_by_label("Comment", exact=True)).to_have_value("")
    comment.get_by_role("link", name="Edit comment").click()
    editor = page.locator("li.comment.editing")
    editor.get_by_label("Edit comment").fill("Looks **even better**")
    editor.get_by_role("button", name="Save comment").click()
    edited = page.locator("#timeline li.comment", has_text="Looks even better")
    expect(edited).to_contain_text("(edited)")
    expect(edited.locator(".comment-body strong")).to_have_text("even better")

    # Delete the file after confirming.
    item.get_by_role("button", name="Delete holiday.png").click()
    expect(page.locator("#attachment-list")).to_contain_text("No files yet.")
    expect(page.locator("#flash")).to_contain_text("Deleted “holiday.png”.")

    assert page.evaluate("window.__taskdeckMarker") == "still here"  # never a page load
    assert dialogs == ["Delete the file “holiday.png”?"]  # nothing hostile ever ran
    assert violations == []
    assert list(local_storage.entries()) == []
    assert re.search(r"/tasks/\d+$", page.url)


def test_refused_upload_says_why_in_place(page, user, make_task, local_storage, tmp_path, app,
                                          monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1000)
    task_id = make_task(user, "Small files only")
    big = tmp_path / "big.txt"
    big.write_text("x" * 5000)
    browser_log_in(page, user)
    page.goto(f"/tasks/{task_id}")

    page.get_by_label("Add files").set_input_files(str(big))
    page.get_by_role("button", name="Upload").click()

    expect(page.locator("#upload-status")).to_contain_text(
        "“big.txt” is larger than the limit of 1000 bytes per file.")
    expect(page.locator("#upload-progress")).to_be_hidden()
    expect(page.locator("#attachment-list")).to_contain_text("No files yet.")
