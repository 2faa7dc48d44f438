"""The characters text may hold, per kind of field: the one place that decides it.

Text reaches us from the APIs, the admin and imported files, and is shown back to
consumers on phones, in consoles, in CSV files and in terminals. Two kinds:

- ``SINGLE_LINE`` (names, titles, address lines, codes, e-mails): no C0 or C1
  control character at all (U+0000-U+001F, U+007F-U+009F);
- ``MULTI_LINE`` (descriptions, question texts, answers): among the controls only
  ``\\n`` and ``\\t``; ``\\r\\n`` and ``\\r`` are read as ``\\n`` first.

Every kind refuses the bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069): they let a name display as something else (the "Trojan Source"
trick). What emoji need stays allowed: the zero-width joiner U+200D and the
variation selectors. Text is normalised to NFC, so that the same visible text is
stored, compared and counted one way. The length limit counts the normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Any, ClassVar

from django import forms
from django.utils.translation import gettext as _

from core.error_codes import CoreErrorCode
from core.errors import DomainError


class TextKind(StrEnum):
    SINGLE_LINE = "single line"
    MULTI_LINE = "several lines"


BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_REFUSED = {
    TextKind.SINGLE_LINE: re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}]"),
    TextKind.MULTI_LINE: re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]"),
}

# The limits of the API's text arguments when their description names none.
DEFAULT_MAX_LENGTH = 200
# Every string inside a JSON argument (question texts, answers, their keys).
JSON_TEXT_MAX_LENGTH = 2000


def refused_character(text: str, kind: TextKind) -> str | None:
    """The first character ``kind`` does not allow in ``text``, or None."""
    found = _REFUSED[kind].search(text)
    return found.group() if found else None


def clean_text(text: str, kind: TextKind, max_length: int, field: str | None = None) -> str:
    """``text`` normalised to NFC, or ``INVALID_INPUT`` naming ``field``.

    Refused: a character the kind does not allow (see the module), or more than
    ``max_length`` characters once normalised.
    """
    if kind is TextKind.MULTI_LINE:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = refused_character(text, kind)
    if bad is not None:
        raise DomainError(
            CoreErrorCode.INVALID_INPUT,
            _("Text may not contain the character U+%(code)04X.") % {"code": ord(bad)},
            field,
        )
    text = unicodedata.normalize("NFC", text)
    if len(text) > max_length:
        raise DomainError(
            CoreErrorCode.INVALID_INPUT,
            _("At most %(max)d characters.") % {"max": max_length},
            field,
        )
    return text


def clean_json_text(value: Any, field: str | None = None) -> Any:
    """A JSON value with every string and key cleaned as multi-line text.

    PostgreSQL's jsonb cannot hold U+0000 at all (``\\u0000`` is refused as an
    internal error), so this is also what keeps it out of the database.
    """
    if isinstance(value, str):
        return clean_text(value, TextKind.MULTI_LINE, JSON_TEXT_MAX_LENGTH, field)
    if isinstance(value, list):
        return [clean_json_text(item, field) for item in value]
    if isinstance(value, dict):
        return {
            clean_json_text(key, field): clean_json_text(item, field) for key, item in value.items()
        }
    return value


class TextRulesFormMixin(forms.BaseForm):
    """The same rules for text that arrives through a Django form (the admin).

    ``text_rules`` maps a field name to its kind and maximum length; a refused value
    is a form error on that field, and an accepted one is stored normalised. Put it
    before the form class (``class F(TextRulesFormMixin, forms.Form)``); every admin
    form that takes text uses it.
    """

    text_rules: ClassVar[dict[str, tuple[TextKind, int]]] = {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what BaseForm.clean returns (typed Optional in the stubs)
        for name, (kind, max_length) in self.text_rules.items():
            value = data.get(name)
            if isinstance(value, str):
                try:
                    data[name] = clean_text(value, kind, max_length, name)
                except DomainError as exc:
                    self.add_error(name, exc.message)
        return data
