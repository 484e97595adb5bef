"""Small helpers shared by the blueprints' forms."""

from flask_wtf import FlaskForm


def strip(value):
    """WTForms filter: trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value


def copy_errors_to_form(form: FlaskForm, field_errors: dict[str, list[str]]) -> None:
    """Show a service's field errors next to the matching form fields."""
    aliases = getattr(form, "field_aliases", {})
    for name, messages in field_errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]


def sent_version(field) -> int | None:
    """The version number a form was drawn with, as the client sent it; None when missing or
    not a number.

    Reads what was sent (`raw_data`), not `data`: a form built on a task falls back to the
    task's own version (an int) when the field is missing, which also defeats the stale-edit
    check; a string method on it was a 500.
    """
    value = (field.raw_data or [""])[0]
    value = value.strip() if isinstance(value, str) else ""
    return int(value) if value.isdigit() and len(value) < 10 else None
