"""Log in, log out and register at /auth."""

from contextlib import suppress

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import is_api_request
from ..extensions import limiter
from ..forms_util import copy_errors_to_form
from ..htmx import redirect_after_post, render_page_or_fragment, safe_next_url
from ..services import users
from ..services.errors import Invalid
from .forms import LoginForm, PasswordChangeForm, RegisterForm

bp = Blueprint("auth", __name__, url_prefix="/auth")

LOGIN_FAILED = "Invalid username or password."


def failed_attempt(response) -> bool:
    """A login or registration that did not succeed (422) counts against the limits."""
    return response.status_code == 422


def login_username_key() -> str:
    """Rate-limit key for the per-username login limit (whatever IP the attempts come from)."""
    return users.normalise_username(request.form.get("username", ""))[:64]


def unauthorized():
    """Anonymous access: JSON 401 for the API, HX-Redirect for htmx, a redirect otherwise."""
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_api_request():
        return jsonify({"error": "Authentication required.", "code": "unauthorized"}), 401
    if request.headers.get("HX-Request") == "true":
        resp = make_response("", 401)
        resp.headers["HX-Redirect"] = login_url
        return resp
    flash("Please log in to see that page.", "info")
    return redirect(login_url)


def remember_time_zone(user, name: str | None) -> None:
    """Keep the zone the browser sent with the login; a missing or unknown one changes
    nothing (the page reports it again later)."""
    if name:
        with suppress(Invalid):
            users.set_time_zone(user, name)


def start_session(user, remember: bool = False) -> None:
    """Log the user in on a fresh session, so no value from before the login survives."""
    session.clear()
    login_user(user, remember=remember)


# Failed attempts count; once a limit is used up every attempt is refused with 429, even one
# with the right password, until the window passes.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_IP_LIMIT"], methods=["POST"],
               deduct_when=failed_attempt, scope="login-ip")
@limiter.limit(lambda: current_app.config["LOGIN_USERNAME_LIMIT"], methods=["POST"],
               key_func=login_username_key, deduct_when=failed_attempt, scope="login-username")
def login():
    """Show the login form and log a user in."""
    if current_user.is_authenticated:
        return redirect(url_for("tasks.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
            remember_time_zone(user, form.time_zone.data)
            start_session(user, remember=form.remember.data)
            flash(f"Welcome back, {user.display_name}.", "success")
            target = safe_next_url(request.args.get("next"), url_for("tasks.index"))
            return redirect_after_post(target)
        form.form_errors.append(LOGIN_FAILED)
        status = 422
    elif form.is_submitted():
        status = 422
    return render_page_or_fragment("auth/login.html", "auth/_login_form.html", status, form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT"], methods=["POST"], scope="register")
def register():
    """Show the registration form and create an account."""
    if current_user.is_authenticated:
        return redirect(url_for("tasks.index"))
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.username.data, form.email.data, form.password.data, form.display_name.data
            )
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            start_session(user)
            flash("Your account is ready.", "success")
            return redirect_after_post(url_for("tasks.index"))
    if form.is_submitted():
        status = 422
    return render_page_or_fragment(
        "auth/register.html", "auth/_register_form.html", status, form=form
    )


@bp.post("/logout")
@login_required
def logout():
    """End the session for good: a copy of the cookie taken before no longer works.

    The user's session version is bumped, which ends their sessions on every device (see
    users.end_sessions); Flask's session is a signed cookie, so clearing it alone would not.
    """
    users.log_out(current_user)
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect_after_post(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Let the logged-in user change their password; their other sessions end."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            # The real object, not the proxy: start_session stores it as the request's user.
            user = users.change_password(
                current_user._get_current_object(), form.current_password.data,
                form.new_password.data,
            )
        except Invalid as error:
            copy_errors_to_form(form, error.field_errors)
        else:
            remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            start_session(user, remember=remember_cookie in request.cookies)
            flash("Your password has been changed. Your other sessions have been logged out.",
                  "success")
            return redirect_after_post(url_for("auth.change_password"))
    if form.is_submitted():
        status = 422
    return render_page_or_fragment(
        "auth/password.html", "auth/_password_form.html", status, form=form
    )
