"""The comment form, for a new comment and for editing one."""

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..services.comments import BODY_MAX


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Comment",
        validators=[DataRequired("Write something first."), Length(max=BODY_MAX)],
        description="Markdown: **bold**, _italic_, `code`, [links](https://example.com), "
                    "lists; images from this task's files.",
    )
