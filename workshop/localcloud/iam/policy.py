"""IAM policy documents, compiled once and evaluated as AWS's policy evaluation logic says.

IAM User Guide, "Policy evaluation logic" / "Determining whether a request is allowed or denied
within an account": an explicit ``Deny`` in any applicable policy wins; otherwise an ``Allow`` is
needed; otherwise the request is implicitly denied. A statement applies when its ``Action`` (or
``NotAction``) matches the action, its ``Resource`` (or ``NotResource``) matches the resource ARN
and every condition holds.

Matching ("IAM JSON policy elements: Action / Resource"): action names are case-insensitive,
resource ARNs case-sensitive; ``*`` and ``?`` are wildcards anywhere (``*`` crosses ``:`` and
``/``); ``${aws:username}``-style policy variables in ``Resource`` are replaced by the request's
values (policy version 2012-10-17 only), and a variable the request has no value for makes the
resource not match.

Compiled policies are cached by their document text, so a changed policy is a new cache entry:
there is nothing to invalidate when IAM changes.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from workshop.localcloud.iam.conditions import (
    Condition,
    UnsupportedCondition,
    arn_like,
    glob_match,
    glob_regex,
)

log = logging.getLogger("workshop.localcloud.iam")

#: Looks a condition key (lower case) up in the request; None when the request has no value,
#: :class:`UnsupportedCondition` when the local cloud cannot know it.
KeyLookup = Callable[[str], "list[str] | None"]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Outcome(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


class MalformedPolicy(ValueError):
    """The document is not a policy (not JSON, no Statement...)."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class _Patterns:
    """A list of ``Action`` or ``Resource`` patterns, matched as one."""

    __slots__ = ("any", "regex", "with_variables", "ignore_case")

    def __init__(self, patterns: Iterable[str], *, ignore_case: bool) -> None:
        plain: list[str] = []
        self.with_variables: list[str] = []
        self.any = False
        self.ignore_case = ignore_case
        for pattern in patterns:
            pattern = str(pattern)
            if pattern == "*":
                self.any = True
            elif "${" in pattern:
                self.with_variables.append(pattern)
            else:
                plain.append(pattern)
        self.regex = (
            re.compile(
                "|".join(f"(?:{glob_regex(p).pattern})" for p in plain),
                re.DOTALL | (re.IGNORECASE if ignore_case else 0),
            )
            if plain
            else None
        )


def _substitute(pattern: str, lookup: KeyLookup | None) -> str | None:
    """Replace ``${key}`` (and ``${key, 'default'}``) with the request's value; None when the
    request has none (the pattern then matches nothing, as in AWS)."""
    failed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal failed
        inner = match.group(1)
        if inner in ("*", "?", "$"):
            return "\\" + inner  # literal characters: ${*} is a literal star
        key, _, default = inner.partition(",")
        values = None
        if lookup is not None:
            try:
                values = lookup(key.strip().lower())
            except UnsupportedCondition:
                values = None
        if values:
            return values[0].replace("*", "\\*").replace("?", "\\?")
        default = default.strip().strip("'\"")
        if default:
            return default
        failed = True
        return ""

    resolved = _VARIABLE.sub(replace, pattern)
    if failed:
        return None
    # Escaped wildcards (from ${*} or values) become literal; glob_match has no escapes, so a
    # literal * is compared by turning the pattern into an exact regex here.
    if "\\" in resolved:
        parts = re.split(r"(\\\*|\\\?|\\\$)", resolved)
        regex = "".join(
            re.escape(part[1]) if part in ("\\*", "\\?", "\\$") else glob_regex(part).pattern
            for part in parts
        )
        return "\x00re:" + regex
    return resolved


class Statement:
    """One compiled statement."""

    __slots__ = (
        "sid", "deny", "actions", "not_actions", "resources", "not_resources",
        "conditions", "unsupported", "principal",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw, dict):
            raise MalformedPolicy("a Statement entry is not an object")
        self.sid = str(raw.get("Sid", ""))
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedPolicy(f"Effect must be Allow or Deny, not {effect!r}")
        self.deny = effect == "Deny"
        self.actions = _Patterns(_as_list(raw["Action"]), ignore_case=True) if "Action" in raw else None
        self.not_actions = (
            _Patterns(_as_list(raw["NotAction"]), ignore_case=True) if "NotAction" in raw else None
        )
        self.resources = _Patterns(_as_list(raw["Resource"]), ignore_case=False) if "Resource" in raw else None
        self.not_resources = (
            _Patterns(_as_list(raw["NotResource"]), ignore_case=False) if "NotResource" in raw else None
        )
        self.principal = raw.get("Principal")
        self.conditions: list[Condition] = []
        self.unsupported: str | None = None
        block = raw.get("Condition") or {}
        if not isinstance(block, dict):
            raise MalformedPolicy("Condition must be an object")
        for operator, entries in block.items():
            if not isinstance(entries, dict):
                raise MalformedPolicy(f"Condition operator {operator} needs an object of keys")
            for key, values in entries.items():
                try:
                    self.conditions.append(Condition(operator, key, _as_list(values)))
                except UnsupportedCondition as error:
                    self.unsupported = str(error)

    def action_matches(self, action: str) -> bool:
        if self.actions is not None:
            return _patterns_match(self.actions, action, None)
        if self.not_actions is not None:
            return not _patterns_match(self.not_actions, action, None)
        return False

    def resource_matches(self, resource: str, lookup: KeyLookup) -> bool:
        if self.resources is not None:
            return _patterns_match(self.resources, resource, lookup)
        if self.not_resources is not None:
            return not _patterns_match(self.not_resources, resource, lookup)
        # A trust policy has no Resource; an identity policy without one is malformed.
        return self.principal is not None

    def conditions_hold(self, lookup: KeyLookup) -> bool | None:
        """True / False; None when a condition cannot be evaluated (the caller decides)."""
        if self.unsupported:
            self.unsupported_seen(self.unsupported)
            return None
        for condition in self.conditions:
            try:
                values = lookup(condition.key)
            except UnsupportedCondition as error:
                self.unsupported_seen(str(error))
                return None
            if not condition.holds(values):
                return False
        return True

    def unsupported_seen(self, reason: str) -> None:
        _log_unsupported(self.sid, reason)


def _patterns_match(patterns: _Patterns, value: str, lookup: KeyLookup | None) -> bool:
    if patterns.any:
        return True
    if patterns.regex is not None and patterns.regex.fullmatch(value):
        return True
    flags = re.DOTALL | (re.IGNORECASE if patterns.ignore_case else 0)
    for pattern in patterns.with_variables:
        resolved = _substitute(pattern, lookup)
        if resolved is None:
            continue
        if resolved.startswith("\x00re:"):
            if re.fullmatch(resolved[4:], value, flags):
                return True
        elif glob_match(resolved, value, patterns.ignore_case):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _log_unsupported(sid: str, reason: str) -> None:
    # Once per statement and reason: the log says what the local cloud could not evaluate.
    log.warning(
        "IAM: cannot evaluate %s in policy statement %s; the statement does not allow anything "
        "(and a Deny statement with it is applied) - AWS may decide differently",
        reason, sid or "(no Sid)",
    )


@dataclass(frozen=True)
class CompiledPolicy:
    statements: tuple[Statement, ...]
    version: str


def parse_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """A policy document as moto stores it (a JSON string, sometimes URL-encoded) -> dict."""
    if isinstance(document, dict):
        return document
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise MalformedPolicy(f"not JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise MalformedPolicy("a policy document is a JSON object")
    return parsed


@functools.lru_cache(maxsize=4096)
def compile_policy(document: str) -> CompiledPolicy:
    """Compile a policy document (JSON text); cached by the text itself."""
    parsed = parse_document(document)
    statements = parsed.get("Statement")
    if statements is None:
        raise MalformedPolicy("no Statement")
    compiled = tuple(Statement(raw) for raw in _as_list(statements))
    return CompiledPolicy(statements=compiled, version=str(parsed.get("Version", "2008-10-17")))


def compile_any(document: str | dict[str, Any]) -> CompiledPolicy | None:
    """Compile, logging (not raising) for a malformed document: it then allows nothing."""
    text = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
    try:
        return compile_policy(text)
    except (MalformedPolicy, KeyError, TypeError) as error:
        _log_malformed(text[:200], str(error))
        return None


@functools.lru_cache(maxsize=64)
def _log_malformed(document: str, reason: str) -> None:
    log.warning("IAM: ignoring a policy that cannot be read (%s): %s", reason, document)


def evaluate(
    policies: Sequence[CompiledPolicy], action: str, resource: str, lookup: KeyLookup
) -> Outcome:
    """The identity-based evaluation of one action on one resource."""
    allowed = False
    for policy in policies:
        for statement in policy.statements:
            if not statement.action_matches(action):
                continue
            if not statement.resource_matches(resource, lookup):
                continue
            holds = statement.conditions_hold(lookup)
            if holds is None:
                # Cannot evaluate: never let it allow; a Deny is applied (the safe side).
                if statement.deny:
                    return Outcome.EXPLICIT_DENY
                continue
            if not holds:
                continue
            if statement.deny:
                return Outcome.EXPLICIT_DENY
            allowed = True
    return Outcome.ALLOW if allowed else Outcome.IMPLICIT_DENY


# -- trust policies (resource-based policies of roles) -----------------------------------------


def principal_matches(principal: Any, *, service: str | None = None, arns: Sequence[str] = ()) -> bool:
    """Does a statement's ``Principal`` name the caller?

    ``service``: a service principal (``lambda.amazonaws.com``); ``arns``: the caller's ARNs
    (an assumed-role session ARN, its role ARN, a user ARN) and the account's forms
    (``arn:aws:iam::ACCOUNT:root``, the bare account id) when the policy trusts the account.
    """
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if service is not None:
        return service in [str(s) for s in _as_list(principal.get("Service"))]
    for entry in _as_list(principal.get("AWS")):
        entry = str(entry)
        if entry == "*" or entry in arns:
            return True
        if any(arn_like(entry, arn) for arn in arns if "*" in entry):
            return True
    return False


def trust_allows(
    document: str | dict[str, Any],
    action: str,
    *,
    service: str | None = None,
    arns: Sequence[str] = (),
    lookup: KeyLookup | None = None,
) -> bool:
    """Does a role's trust policy allow ``action`` (sts:AssumeRole) for this principal?"""
    policy = compile_any(document)
    if policy is None:
        return False
    lookup = lookup or (lambda key: None)
    allowed = False
    for statement in policy.statements:
        if not statement.action_matches(action.lower()):
            continue
        if not principal_matches(statement.principal, service=service, arns=arns):
            continue
        holds = statement.conditions_hold(lookup)
        if holds is None:
            if statement.deny:
                return False
            continue
        if not holds:
            continue
        if statement.deny:
            return False
        allowed = True
    return allowed
