"""IAM condition operators, as the IAM User Guide's "IAM JSON policy elements: Condition
operators" page documents them.

A condition block is ``{operator: {key: value-or-values}}``. Within one key any listed value may
match (OR); all keys and all operators must hold (AND). Request values can be multi-valued
(``aws:TagKeys``): then ``ForAnyValue:`` / ``ForAllValues:`` say how the sets compare.

What AWS documents and this module copies:

- a key missing from the request makes the condition false, except for ``...IfExists``
  operators (true when the key is absent), the negated operators' ``ForAllValues:`` form (true on
  an empty set) and ``Null`` (which tests exactly that);
- ``String*`` compare case-sensitively (``...IgnoreCase`` does not), ``*Like`` use ``*`` and
  ``?`` wildcards, ``Arn*`` compare the six ``:``-separated parts one by one;
- negated operators (``StringNotEquals``...) are true when no listed value matches.

An operator or key the local cloud cannot evaluate raises :class:`UnsupportedCondition`: the
evaluator logs it and never lets it allow a request.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone


class UnsupportedCondition(Exception):
    """A condition operator or key the local cloud cannot evaluate."""


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters (``:`` and ``/`` included), ``?`` one."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), flags)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return glob_regex(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """``ArnLike``: each of the six ARN parts matched on its own, with wildcards."""
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return pattern == "*"
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts))


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> float:
    """ISO 8601 date or epoch seconds, as the Date operators accept."""
    text = str(text).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _ip_in(network: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _compare(parse: Callable[[str], float], test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(expected: str, actual: str) -> bool:
        try:
            return test(parse(actual), parse(expected))
        except (TypeError, ValueError):
            return False

    return match


def _bool_match(expected: str, actual: str) -> bool:
    return str(expected).lower() == str(actual).lower()


#: Positive operators: (expected, actual) -> matches. The "Not" forms negate these.
_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda e, a: e == a,
    "stringequalsignorecase": lambda e, a: e.lower() == a.lower(),
    "stringlike": lambda e, a: glob_match(e, a),
    "arnequals": arn_like,  # AWS documents ArnEquals and ArnLike with the same behaviour
    "arnlike": arn_like,
    "numericequals": _compare(_number, lambda a, e: a == e),
    "numericlessthan": _compare(_number, lambda a, e: a < e),
    "numericlessthanequals": _compare(_number, lambda a, e: a <= e),
    "numericgreaterthan": _compare(_number, lambda a, e: a > e),
    "numericgreaterthanequals": _compare(_number, lambda a, e: a >= e),
    "dateequals": _compare(_date, lambda a, e: a == e),
    "datelessthan": _compare(_date, lambda a, e: a < e),
    "datelessthanequals": _compare(_date, lambda a, e: a <= e),
    "dategreaterthan": _compare(_date, lambda a, e: a > e),
    "dategreaterthanequals": _compare(_date, lambda a, e: a >= e),
    "bool": _bool_match,
    "ipaddress": _ip_in,
    "binaryequals": lambda e, a: e == a,
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "notipaddress": "ipaddress",
}


class Condition:
    """One ``operator: {key: values}`` entry, parsed once when its policy is compiled."""

    __slots__ = ("operator", "key", "values", "_match", "_negated", "_set_op", "_if_exists", "_null")

    def __init__(self, operator: str, key: str, values: Sequence[object]) -> None:
        self.operator = operator
        self.key = key.lower()
        self.values = [_as_text(v) for v in values]
        name = operator
        self._set_op = ""
        if ":" in name:
            prefix, name = name.split(":", 1)
            if prefix.lower() not in ("forallvalues", "foranyvalue"):
                raise UnsupportedCondition(f"condition operator {operator!r}")
            self._set_op = prefix.lower()
        lowered = name.lower()
        self._if_exists = lowered.endswith("ifexists")
        if self._if_exists:
            lowered = lowered[: -len("ifexists")]
        self._null = lowered == "null"
        self._negated = lowered in _NEGATED
        base = _NEGATED.get(lowered, lowered)
        if not self._null and base not in _POSITIVE:
            raise UnsupportedCondition(f"condition operator {operator!r}")
        self._match = _POSITIVE.get(base)

    def holds(self, actual: list[str] | None) -> bool:
        """Does the condition hold for the request's values of :attr:`key` (None: absent)?"""
        if self._null:
            # {"Null": {"k": "true"}}: true when the key is absent; "false": when present.
            wanted_absent = any(v.lower() == "true" for v in self.values)
            absent = actual is None or len(actual) == 0
            return absent if wanted_absent else not absent
        if actual is None:
            if self._if_exists:
                return True
            # ForAllValues over an empty/absent set is vacuously true (IAM User Guide,
            # "Multivalued context keys"); every other form is false without the key.
            return self._set_op == "forallvalues"
        match = self._match
        assert match is not None

        def one(value: str) -> bool:
            hit = any(match(expected, value) for expected in self.values)
            return not hit if self._negated else hit

        if self._set_op == "forallvalues":
            return all(one(value) for value in actual)
        if self._set_op == "foranyvalue":
            return any(one(value) for value in actual)
        if self._negated:
            # Single-valued negation: no value of the request matches any listed value.
            return all(one(value) for value in actual)
        return any(one(value) for value in actual)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
