"""Forms of the account page."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..forms_util import strip
from ..services.tokens import NAME_MAX


class TokenForm(FlaskForm):
    name = StringField(
        "Token name", validators=[DataRequired("Give the token a name."), Length(max=NAME_MAX)],
        filters=[strip], description="What the token is for, e.g. “backup script”.",
    )
    expires_on = DateField(
        "Expires on", validators=[Optional()],
        description="Optional: the token stops working after this day (UTC).",
    )
    allow_changes = BooleanField(
        "Allow changes",
        description="Without it the token may only read; with it, it may also create, change "
        "and delete your tasks.",
    )
