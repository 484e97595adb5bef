"""Log in, log out and register at /auth."""

from flask import Blueprint, flash, jsonify, make_response, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import is_api_request
from ..forms_util import copy_errors_to_form
from ..htmx import redirect_after_post, render_page_or_fragment, safe_next_url
from ..services import users
from ..services.errors import Invalid
from .forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__, url_prefix="/auth")

LOGIN_FAILED = "Invalid username or password."


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


def start_session(user, remember: bool = False) -> None:
    """Log the user in on a fresh session, so no value from before the login survives."""
    session.clear()
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log a user in."""
    if current_user.is_authenticated:
        return redirect(url_for("tasks.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = users.authenticate(form.username.data, form.password.data)
        if user is not None:
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
    """End the session."""
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect_after_post(url_for("auth.login"))
