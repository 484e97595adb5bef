"""The label forms of the Labels page."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..forms_util import strip
from ..models import LABEL_COLOURS
from ..services.labels import LABEL_COLOUR_NAMES, LABEL_NAME_MAX, LABEL_NAME_RULE


class LabelForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Name is required."), Length(max=LABEL_NAME_MAX + 1)],
        filters=[strip], description=LABEL_NAME_RULE,
    )
    colour = SelectField(
        "Colour", choices=[SelectChoice(c, LABEL_COLOUR_NAMES[c]) for c in LABEL_COLOURS],
        default=LABEL_COLOURS[0],
    )
