"""Query parameters declared once per listing (STYLE 3): a pydantic model per listing whose
fields say, for each parameter, its name on the pages and in the API, how its text is read and
checked (with the message a person sees), its label and its choices.

The pages read their query string through `from_args(args, "page")`, the API through
`from_args(args, "api")`; the filter bar takes labels and choices from `field(name)`, the
URL round trip comes from `to_args`, and the API's OpenAPI parameters from the names,
labels, descriptions and each parser's `json_schema` (webapp/api/schemas.query_model).

A bad parameter never spoils the others: `from_args` leaves it out and returns a message for it,
keyed by the parameter's name as sent (the pages say what they ignored, the API answers 400).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from .text import parse_date, parse_positive_int

Spelling = Literal["page", "api"]
DATE_MESSAGE = "Use a date in the form YYYY-MM-DD."
# The API spells a parameter as the page does unless its declaration says otherwise.
SAME = "="


@dataclass(frozen=True)
class Param:
    """What a parameter is to people and scripts; put in the field's Annotated metadata.

    `page`/`api`: its name in each spelling (SAME: the field's own name; None: not read in
    that spelling). `choices`: value -> text for the filter bar. `repeated`: sent once per
    value (`label=a&label=b`).
    """

    label: str
    page: str | None = SAME
    api: str | None = SAME
    choices: Mapping[str, str] | None = None
    repeated: bool = False
    description: str | None = None

    def name(self, field: str, spelling: Spelling) -> str | None:
        spelled = self.page if spelling == "page" else self.api
        return field if spelled == SAME else spelled


# The parsers below read text from a query string; None (not sent) stays None, so a set can
# also be built from values in code (DashboardQuery.params).


def refuse(message: str) -> PydanticCustomError:
    """A validation error that carries exactly the message people read."""
    return PydanticCustomError("bad_parameter", message)


# --- Parsers: query text (stripped, never empty) -> value -------------------------
# Each parser also says what it accepts as a JSON schema (`accepting`), so the API's document
# is derived from the same declaration as the parsing (ParamSet.value_schema).

def accepting(parse: Callable, schema: dict) -> BeforeValidator:
    """A parser as a pydantic validator, carrying the JSON schema of the text it accepts."""
    parse.json_schema = schema
    return BeforeValidator(parse)


def choice(allowed, message: str, aliases: Mapping[str, str] | None = None) -> BeforeValidator:
    """One of `allowed`, case-insensitive, older spellings (aliases) accepted."""
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        spelled = str(value).lower()
        spelled = (aliases or {}).get(spelled, spelled)
        if spelled not in allowed:
            raise refuse(message)
        return spelled
    return accepting(parse, {"type": "string", "enum": [*allowed, *(aliases or {})]})


def whole_number(maximum: int, message: str) -> BeforeValidator:
    """A whole number from 1 to `maximum`, in digits (services.text.parse_positive_int)."""
    def parse(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        try:
            return parse_positive_int(str(value), maximum)
        except ValueError:
            raise refuse(message) from None
    return accepting(parse, {"type": "integer", "minimum": 1, "maximum": maximum})


def iso_date(message: str = DATE_MESSAGE) -> BeforeValidator:
    """A YYYY-MM-DD date (services.text.parse_date)."""
    def parse(value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except ValueError:
            raise refuse(message) from None
    return accepting(parse, {"type": "string", "format": "date", "examples": ["2026-01-31"]})


def text(max_length: int, message: str, lower: bool = False) -> BeforeValidator:
    """Text of at most `max_length` characters without NUL (PostgreSQL refuses NUL)."""
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        value = str(value)
        if len(value) > max_length or "\x00" in value:
            raise refuse(message)
        return value.lower() if lower else value
    return accepting(parse, {"type": "string", "maxLength": max_length})


def not_before(earlier_field: str, message: str) -> Callable:
    """For a field validator: the end of a period may not come before its start."""
    def check(value, info):
        start = info.data.get(earlier_field)
        if value is not None and start is not None and value < start:
            raise refuse(message)
        return value
    return check


# --- The base of every declared parameter set ------------------------------------------------

class ParamSet(BaseModel):
    """A listing's query parameters. Subclasses declare fields as
    `name: Annotated[type | None, Param(...), parser] = None`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def param(cls, field: str) -> Param:
        """The declaration of a field (label, names, choices)."""
        for item in cls.model_fields[field].metadata:
            if isinstance(item, Param):
                return item
        raise LookupError(f"{cls.__name__}.{field} declares no Param")

    @classmethod
    def value_schema(cls, field: str) -> dict:
        """The JSON schema of one value of a field, from its parser (see `accepting`)."""
        for item in cls.model_fields[field].metadata:
            schema = getattr(getattr(item, "func", None), "json_schema", None)
            if schema is not None:
                return schema
        return {"type": "string"}

    @classmethod
    def names(cls, spelling: Spelling) -> dict[str, str]:
        """{field: parameter name} of the parameters read in that spelling."""
        names = {}
        for field in cls.model_fields:
            name = cls.param(field).name(field, spelling)
            if name is not None:
                names[field] = name
        return names

    @classmethod
    def choices(cls, field: str) -> list[tuple[str, str]]:
        """(value, text) pairs for the filter bar's menu of a field."""
        return list((cls.param(field).choices or {}).items())

    @classmethod
    def from_args(cls, args: Mapping[str, Any], spelling: Spelling = "page"
                  ) -> tuple[Self, dict[str, str]]:
        """The parameters read from a query string (a MultiDict or a plain mapping), with
        every bad one left out, and {parameter name as sent: message} for those."""
        names = cls.names(spelling)
        raw: dict[str, Any] = {}
        getlist = getattr(args, "getlist", None)
        for field, name in names.items():
            if cls.param(field).repeated:
                values = getlist(name) if getlist else [args.get(name)]
                values = [str(v).strip() for v in values if v is not None and str(v).strip()]
                if values:
                    raw[field] = values
            else:
                value = str(args.get(name) or "").strip()
                if value:
                    raw[field] = value
        errors: dict[str, str] = {}
        while True:
            try:
                return cls.model_validate(raw), errors
            except ValidationError as error:
                bad = {item["loc"][0] for item in error.errors() if item["loc"]}
                if not bad & raw.keys():
                    raise  # a rule that names no sent parameter: a bug in a declaration
                for item in error.errors():
                    field = item["loc"][0] if item["loc"] else None
                    if field in raw:
                        errors.setdefault(names[field], item["msg"])
                for field in bad:
                    raw.pop(field, None)

    def to_args(self, spelling: Spelling = "page", defaults: ParamSet | None = None
                ) -> dict[str, str | list[str]]:
        """The query parameters that give these values again; values equal to `defaults`'
        (the declared defaults when not given) are left out, so one view has one URL."""
        defaults = defaults if defaults is not None else type(self)()
        params: dict[str, str | list[str]] = {}
        for field, name in self.names(spelling).items():
            value = getattr(self, field)
            if value is None or value in ("", ()) or value == getattr(defaults, field):
                continue
            params[name] = format_value(value)
        return params


def format_value(value: Any) -> str | list[str]:
    """A value as it travels in a URL."""
    if isinstance(value, list | tuple):
        return [format_value(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
