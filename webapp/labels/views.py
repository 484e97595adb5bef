"""The Labels page at /labels: a user's own labels, to add, rename, recolour and delete."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, render_template, url_for
from flask_login import current_user, login_required

from ..forms_util import copy_errors_to_form
from ..htmx import redirect_after_post
from ..services import labels as label_service
from ..services.errors import Invalid
from .forms import LabelForm

bp = Blueprint("labels", __name__, url_prefix="/labels")


@bp.before_request
@login_required
def require_login():
    """Labels are personal: every page needs a logged-in user."""


def render_page(form: LabelForm | None = None, status: int = 200, edit_forms=None):
    """The Labels page: the user's labels with their task counts, and the add form."""
    rows = label_service.labels_with_counts(current_user)
    edit_forms = edit_forms or {}
    forms = {label.id: edit_forms.get(label.id) or LabelForm(
        formdata=None, prefix=f"label-{label.id}", name=label.name, colour=label.colour)
        for label, _ in rows}
    return make_response(render_template(
        "labels/index.html", rows=rows, form=form or LabelForm(formdata=None), forms=forms,
    ), status)


@bp.get("")
def index():
    """The current user's labels."""
    return render_page()


@bp.post("")
def create():
    """Add a label."""
    form = LabelForm()
    if form.validate_on_submit():
        try:
            label = label_service.create_label(current_user, form.name.data, form.colour.data)
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            flash(f"Added the label “{label.name}”.", "success")
            return redirect_after_post(url_for("labels.index"))
    return render_page(form, 422)


@bp.post("/<int:label_id>")
def update(label_id: int):
    """Rename and/or recolour a label (another user's is 404)."""
    label = label_service.get_label_for(current_user, label_id)
    form = LabelForm(prefix=f"label-{label.id}")
    if form.validate_on_submit():
        try:
            label = label_service.update_label(current_user, label.id, form.name.data,
                                               form.colour.data)
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            flash(f"Saved the label “{label.name}”.", "success")
            return redirect_after_post(url_for("labels.index"))
    return render_page(status=422, edit_forms={label.id: form})


@bp.post("/<int:label_id>/delete")
def delete(label_id: int):
    """Delete a label; its tasks lose it, nothing else."""
    label = label_service.delete_label(current_user, label_id)
    flash(f"Deleted the label “{label.name}”.", "success")
    return redirect_after_post(url_for("labels.index"))
