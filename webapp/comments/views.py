"""Comments at /tasks/<id>/comments: add, edit (its author), delete (its author or an admin).

Plain forms redirect to the task's page (or show the form again with 422); htmx swaps the
timeline, or the one comment, in place.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..forms_util import copy_errors_to_form
from ..htmx import redirect_after_post, render_page_or_fragment, wants_fragment
from ..services import comments as comment_service
from ..services import tasks as task_service
from ..services.errors import Invalid
from ..tasks.views import render_task_page, with_flash
from .forms import CommentForm

bp = Blueprint("comments", __name__, url_prefix="/tasks/<int:task_id>/comments")


@bp.before_request
@login_required
def require_login():
    """Every comment route needs a logged-in user."""


def task_url(task_id: int, comment_id: int | None = None) -> str:
    anchor = f"#comment-{comment_id}" if comment_id else "#activity"
    return url_for("tasks.detail", task_id=task_id) + anchor


@bp.get("")
def index(task_id: int):
    """The timeline fragment (htmx); the task's page otherwise."""
    task = task_service.get_task_for(current_user, task_id)
    if not wants_fragment():
        return redirect(task_url(task.id))
    resp = make_response(render_template(
        "comments/_timeline.html", task=task, timeline=comment_service.task_timeline(task)))
    resp.vary.add("HX-Request")
    return resp


@bp.post("")
def create(task_id: int):
    """Add a comment to the task."""
    task = task_service.get_task_for(current_user, task_id, "comment")
    form = CommentForm()
    if form.validate_on_submit():
        try:
            comment_service.add_comment(current_user, task.id, form.body.data)
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            if wants_fragment():
                html = render_template("comments/_timeline.html", task=task,
                                       timeline=comment_service.task_timeline(task))
                html += render_template("comments/_form.html", task=task, oob=True,
                                        form=CommentForm(formdata=None))
                return with_flash(make_response(html, 201), "Comment added.")
            flash("Comment added.", "success")
            return redirect_after_post(task_url(task.id))
    if wants_fragment():
        resp = make_response(
            render_template("comments/_form.html", task=task, form=form, oob=False), 422)
        resp.headers["HX-Retarget"] = "#comment-form"
        resp.headers["HX-Reswap"] = "outerHTML"
        return resp
    return render_task_page(task, 422, comment_form=form)


@bp.get("/<int:comment_id>")
def show(task_id: int, comment_id: int):
    """One comment as a fragment (htmx: cancel an edit); its place on the task's page
    otherwise."""
    comment = comment_service.get_comment_for(current_user, task_id, comment_id)
    if not wants_fragment():
        return redirect(task_url(task_id, comment.id))
    resp = make_response(render_template("comments/_comment.html", comment=comment))
    resp.vary.add("HX-Request")
    return resp


def render_edit(comment, form: CommentForm, status: int = 200):
    task = task_service.get_task_for(current_user, comment.task_id)
    return render_page_or_fragment("comments/edit.html", "comments/_comment_edit.html",
                                   status, task=task, comment=comment, form=form)


@bp.get("/<int:comment_id>/edit")
def edit(task_id: int, comment_id: int):
    """The edit form of the actor's own comment: in place (htmx) or as a page."""
    comment = comment_service.get_comment_for(current_user, task_id, comment_id,
                                              "edit_comment")
    return render_edit(comment, CommentForm(obj=comment))


@bp.post("/<int:comment_id>")
def update(task_id: int, comment_id: int):
    """Save an edit of the actor's own comment."""
    comment = comment_service.get_comment_for(current_user, task_id, comment_id,
                                              "edit_comment")
    form = CommentForm()
    if form.validate_on_submit():
        try:
            comment = comment_service.update_comment(current_user, task_id, comment.id,
                                                     form.body.data)
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            if wants_fragment():
                resp = make_response(render_template("comments/_comment.html",
                                                     comment=comment))
                return with_flash(resp, "Comment saved.")
            flash("Comment saved.", "success")
            return redirect_after_post(task_url(task_id, comment.id))
    return render_edit(comment, form, 422)


@bp.post("/<int:comment_id>/delete")
def delete(task_id: int, comment_id: int):
    """Delete a comment (its author, or an admin)."""
    comment_service.delete_comment(current_user, task_id, comment_id)
    if wants_fragment():
        return with_flash(make_response(""), "Comment deleted.")
    flash("Comment deleted.", "success")
    return redirect_after_post(task_url(task_id))
