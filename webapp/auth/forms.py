"""Forms for logging in, registering and changing the password."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo

from ..forms_util import strip
from ..services.users import DISPLAY_NAME_MAX, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

# Lengths are told to the browser (minlength/maxlength) but checked by services.users, so a
# form and the API (POST /api/auth/register, /api/users) refuse with the same words.

PASSWORD_RULE = (f"At least {PASSWORD_MIN_LENGTH} characters; not your username or a "
                 "common password.")


def new_password_field(label: str, note: str = "") -> PasswordField:
    """A field for choosing a password (the rules are checked in services.users)."""
    return PasswordField(
        label, validators=[DataRequired()],
        render_kw={"minlength": PASSWORD_MIN_LENGTH, "maxlength": PASSWORD_MAX_LENGTH},
        description=f"{PASSWORD_RULE} {note}".strip(),
    )


def confirm_field(label: str, other: str) -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), EqualTo(other, "Passwords differ.")])


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()], filters=[strip])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me")
    # Filled in by static/js/app.js with the browser's zone, so the first page after the
    # login already shows times where the user is.
    time_zone = HiddenField()
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    username = StringField(
        "Username", validators=[DataRequired()], filters=[strip],
        render_kw={"minlength": 3, "maxlength": 32},
        description="3 to 32 characters: lower-case letters, digits, _ . -",
    )
    email = EmailField("Email", validators=[DataRequired()], filters=[strip],
                       render_kw={"maxlength": 254})
    display_name = StringField("Display name", filters=[strip],
                               render_kw={"maxlength": DISPLAY_NAME_MAX})
    password = new_password_field("Password")
    confirm = confirm_field("Repeat password", "password")
    submit = SubmitField("Create account")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = new_password_field(
        "New password", "Your other sessions will be logged out."
    )
    confirm = confirm_field("Repeat new password", "new_password")
    submit = SubmitField("Change password")
