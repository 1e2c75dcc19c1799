"""One ``ErrorCode`` enum in the schema: exactly the union of every app's ``*ErrorCode``."""

import importlib
from enum import StrEnum
from pathlib import Path

from schema.errors import ERROR_CODE_ENUMS
from schema.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def app_error_enums() -> set[type[StrEnum]]:
    found = set()
    for path in sorted(ROOT.glob("apps/*/errors.py")):
        module = importlib.import_module(f"apps.{path.parent.name}.errors")
        found |= {
            value
            for name, value in vars(module).items()
            if name.endswith("ErrorCode") and isinstance(value, type) and issubclass(value, StrEnum)
        }
    return found


def test_every_app_error_enum_is_part_of_the_schema_s_error_code():
    missing = app_error_enums() - set(ERROR_CODE_ENUMS)
    assert not missing, f"add {sorted(e.__name__ for e in missing)} to schema/errors.py"


def test_the_error_code_enum_holds_every_code_once_as_sent_on_the_wire():
    codes = {code.value for enum in app_error_enums() for code in enum}
    enum = schema._schema.get_type("ErrorCode")

    assert set(enum.values) == codes
    assert len(enum.values) == len(codes)
    assert all(value.value == name for name, value in enum.values.items())
