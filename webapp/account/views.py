"""The account page at /account: personal API tokens (and, later, the password change)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from ..forms_util import copy_errors_to_form
from ..htmx import redirect_after_post, render_page_or_fragment, wants_fragment
from ..services import tokens as token_service
from ..services import users as user_service
from ..services.errors import Invalid
from .forms import TokenForm

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def require_login():
    """The account page is the logged-in user's own."""


@bp.after_request
def no_store(resp):
    # A new token is shown once in the answer: no cache may keep a copy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def render_tokens(form: TokenForm, status: int = 200, new_token: str | None = None,
                  new_token_name: str | None = None):
    """The account page, or only its token panel for htmx."""
    return render_page_or_fragment(
        "account/index.html", "account/_tokens.html", status,
        form=form, tokens=token_service.tokens_of(current_user), new_token=new_token,
        new_token_name=new_token_name, is_expired=token_service.is_expired,
    )


@bp.get("")
def index():
    """The user's account: their API tokens."""
    return render_tokens(TokenForm(formdata=None))


@bp.post("/tokens")
def create_token():
    """Create a token and show its secret once.

    The answer is the page itself (201), not a redirect: the secret must not travel in a URL
    or a cookie, and is never stored, so it cannot be shown after a redirect.
    """
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, secret = token_service.create_token(
                current_user, form.name.data, form.expires_on.data,
                scope=(token_service.SCOPE_READ_WRITE if form.allow_changes.data
                       else token_service.SCOPE_READ),
            )
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            return render_tokens(TokenForm(formdata=None), 201, secret, token.name)
    return render_tokens(form, 422)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke one of the user's tokens: it stops working at once."""
    token = token_service.revoke_token(current_user, token_id)
    message = f"Revoked the token “{token.name}”."
    if wants_fragment():
        flash_html = render_template("_flash_oob.html", messages=[("success", message)])
        return make_response(flash_html)  # the row is replaced by nothing
    flash(message, "success")
    return redirect_after_post(url_for("account.index"))


@bp.post("/time-zone")
def time_zone():
    """Remember the zone the browser reports (static/js/app.js), so the pages the server
    renders show times there: 204, or 422 for a name that is no IANA zone."""
    try:
        user_service.set_time_zone(current_user, request.form.get("time_zone"))
    except Invalid as error:
        return {"error": error.field_errors["time_zone"][0], "code": "invalid"}, 422
    return "", 204
