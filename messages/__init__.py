"""What kijun tells people, one catalogue for every front-end: a condition → its words.

Each condition has a code (stable: the API returns it as `code` beside `detail`) and a
`Text` in `messages.catalogue`: English for the command line and the JSON API, Japanese
for the web pages. Both say what to do, each in its own terms: the command line names
its options (--sheet NAME), the API its fields (`sheet`), the web page its form fields
(「シート」) — templates write `{field[sheet]}` and each audience fills it in.

A condition is raised as an `Explained` exception (the existing exception types declare
their `code`; a type that covers several conditions is raised with the one meant), or
reported as a `Message` (a warning, a reason): both keep their parameters, so each
front-end renders them in its language. `str()` is the command line's English, so
library callers and logs read as before.
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from messages.catalogue import AUDIENCES, CATALOGUE, FIELDS, Text

__all__ = ["AUDIENCES", "CATALOGUE", "MAX_ECHO_CHARS", "Explained", "Message", "Text", "code_of", "excerpt",
           "placeholders", "render", "text_of"]

LIST_SEPARATORS = {"cli": ", ", "api": ", ", "web": "、"}
MAX_ECHO_CHARS = 80  # of what a person sent, a message quotes back at most this much


def excerpt(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """What a message may quote of something a person sent: at most `limit` characters, "…" where cut
    (a 12 kB ID or a 5,000-digit number must not come back whole)."""
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Message:
    """One condition with its parameters, rendered when shown (`text(audience)`)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, audience: str = "cli") -> str:
        return render(self.code, audience, **self.params)

    def without(self, *names: str) -> "Message":
        """The same message with some parameters blanked (a location already shown beside it)."""
        return Message(self.code, {**self.params, **{n: "" for n in names}})

    def to_dict(self, audience: str = "api") -> dict[str, str]:
        return {"code": self.code, "detail": self.text(audience)}

    def __str__(self) -> str:
        return self.text("cli")

    def __hash__(self) -> int:
        return hash((self.code, tuple(sorted((k, str(v)) for k, v in self.params.items()))))


class Explained(Exception):
    """An exception whose words come from the catalogue: `code` names the condition (a subclass
    declares its own; `raise Cls("other_code", …)` picks another of the catalogue's)."""

    code: ClassVar[str] = ""

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        self.message = Message(code or type(self).code, params)
        super().__init__(self.message.text("cli"))

    @property
    def condition(self) -> str:
        """The catalogue code of this instance (the class's, or the one it was raised with)."""
        return self.message.code

    def text(self, audience: str = "cli") -> str:
        return self.message.text(audience)

    def __str__(self) -> str:
        return self.message.text("cli")


def text_of(error: BaseException, audience: str) -> str:
    """What to tell `audience` about any exception: the catalogue's words for an `Explained` one,
    else its own message (an unexpected error is not translated, but it is not hidden either)."""
    return error.text(audience) if isinstance(error, Explained) else str(error)


def code_of(error: BaseException) -> str:
    return error.condition if isinstance(error, Explained) else "error"


class _Fields(dict):
    """`{field[sheet]}` in a template: how this audience names the control that fixes it."""

    def __init__(self, audience: str) -> None:
        super().__init__({name: names[audience] for name, names in FIELDS.items()})


def render(code: str, audience: str = "cli", /, **params: Any) -> str:
    """The catalogue's text for `code` in `audience`'s words, with the parameters filled in
    (a parameter that is itself a Message is rendered for the same audience; a list is joined)."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, got {audience!r}")
    entry = CATALOGUE[code]
    values = {k: _value(v, audience) for k, v in params.items()}
    return entry.template(audience, params).format(field=_Fields(audience), **values)


def _value(v: Any, audience: str) -> Any:
    if isinstance(v, Message):
        return v.text(audience)
    if isinstance(v, (list, tuple)):
        return LIST_SEPARATORS[audience].join(str(_value(x, audience)) for x in v)
    return v


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses (`field[…]` excluded): what a test fills in."""
    return {name.split("[")[0].split(".")[0].split("!")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name and not name.startswith("field")}

