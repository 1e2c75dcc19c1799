"""Model validation whose errors carry the stable codes of the API."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from .errors import CoreErrorCode

_REQUIRED_CODES = {"blank", "null", "required"}


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
