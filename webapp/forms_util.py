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
