"""Model validation whose errors carry the stable codes of the API, and text folding."""

import unicodedata

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from .errors import CoreErrorCode

_REQUIRED_CODES = {"blank", "null", "required"}

# The longest free text accepted, by kind: a note or reason, a search, a description.
NOTE_MAX_LENGTH = 2000
SEARCH_MAX_LENGTH = 256
DESCRIPTION_MAX_LENGTH = 10000


_KNOWN_CODES: set[str] = set(CoreErrorCode)


def _stable_code(code: str | None) -> str:
    if code in _REQUIRED_CODES:
        return CoreErrorCode.REQUIRED
    return code if code in _KNOWN_CODES else CoreErrorCode.INVALID


def full_clean(
    instance: models.Model, *, exclude: list[str] | None = None, prefix: str = ""
) -> None:
    """``instance.full_clean()`` whose errors use the API's codes (``required``, ``invalid``...).

    Uniqueness is left to the services, which answer specific codes (``email_taken``...).
    """
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        fields = {}
        for field, errors in error.error_dict.items():
            name = field if field == NON_FIELD_ERRORS else f"{prefix}{field}"
            first = errors[0]
            fields[name] = ValidationError(
                " ".join(e.messages[0] for e in errors), code=_stable_code(first.code)
            )
        raise ValidationError(fields) from None


def fold(text: str) -> str:
    """The form under which two spellings of one identifier (an email) are the same key.

    Compatibility normalisation (NFKC: a long s is ``s``, full-width letters are letters) and
    Unicode case folding (``ß`` is ``ss``), after trimming: what look-ups, rate limits and
    uniqueness compare, so that no look-alike spelling reaches an account another way.
    """
    return unicodedata.normalize("NFKC", (text or "").strip()).casefold()


def clean_text(value: str | None, *, field: str, max_length: int = NOTE_MAX_LENGTH) -> str:
    """``value`` trimmed, or ``invalid`` on ``field`` when it is longer than ``max_length``."""
    text = (value or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            {
                field: ValidationError(
                    f"Keep it to {max_length:,} characters (this has {len(text):,}).",
                    code=CoreErrorCode.INVALID,
                )
            }
        )
    return text
