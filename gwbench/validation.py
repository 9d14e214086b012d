"""pydantic's validation errors as gwbench's input errors: the file, the field, the fix.

Both documents gwbench reads from users' hands, ``results.json`` (:mod:`gwbench.results`)
and ``ci/thresholds.toml`` (:mod:`gwbench.harness.gate.thresholds`), are validated by
pydantic; the first error becomes an :class:`~gwbench.errors.InputError` (exit 2) whose
message names the file and the field's path (``hotpaths[0].points[1].size``) and says
what was expected in the document's own words (a TOML "table" is a JSON "object").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gwbench.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationError

_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "tuple_type": "a list",
    "list_type": "a list",
}
_MAPPINGS = ("dict_type", "model_type", "dataclass_type", "dataclass_exact_type")


def field_path(loc: Sequence[int | str]) -> str:
    """``("hotpaths", 0, "points", 1, "size")`` -> ``hotpaths[0].points[1].size``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def describe(value: object, mapping: str = "an object") -> str:
    """What a value read from a document is, for a message: ``the string 'big'``."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return mapping
    return "null" if value is None else type(value).__name__


def problem(error: Mapping[str, Any], mapping: str = "an object") -> str:
    """One pydantic error detail in plain words."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx", {})
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx.get('expected')}"
    if kind in _EXPECTED or kind in _MAPPINGS:
        expected = _EXPECTED.get(kind, mapping)
        return f"expected {expected}, got {describe(value, mapping)}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = "at least" if kind.endswith("equal") else "above"
        return f"{value!r} must be {bound} {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"{value!r} must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


def input_error(
    exc: ValidationError,
    source: str,
    *,
    mapping: str = "an object",
    known_keys: Callable[[tuple[int | str, ...]], str] | None = None,
) -> InputError:
    """The input error of the first problem ``exc`` found in the document ``source``.
    ``known_keys`` lists, for an unknown key, the keys allowed where it stands."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    message = problem(error, mapping)
    if error["type"] == "extra_forbidden" and known_keys is not None:
        message += f" (known: {known_keys(loc)})"
    return InputError(message, file=source, field=field_path(loc) or None)
