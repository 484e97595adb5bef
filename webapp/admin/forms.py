"""Forms of the account administration pages."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice

from ..models import ROLES

ROLE_LABELS = {"user": "User", "admin": "Admin"}


class UserRoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])


class UserActiveForm(FlaskForm):
    active = RadioField(
        "Account", choices=[SelectChoice("1", "Active"), SelectChoice("0", "Deactivated")]
    )
