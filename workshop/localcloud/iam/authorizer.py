"""May principal P do action A on resource R? The one question every part of the local cloud asks.

Identity-based evaluation within one account (IAM User Guide, "Policy evaluation logic"): the
root is unrestricted; a user or role session needs an Allow in its identity-based policies and no
explicit Deny; a role session created with a session policy also needs that policy's Allow.
A role's permissions boundary limits it too. SCPs and resource-based policies other than trust
policies are not evaluated (the workshop uses none).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from workshop.localcloud import config
from workshop.localcloud.iam.actions import Check
from workshop.localcloud.iam.conditions import UnsupportedCondition
from workshop.localcloud.iam.errors import (
    IDENTITY_POLICY,
    PERMISSIONS_BOUNDARY,
    SESSION_POLICY,
    denial_message,
)
from workshop.localcloud.iam.policy import KeyLookup, Outcome, compile_any, evaluate, trust_allows
from workshop.localcloud.iam.principals import (
    ASSUMED_ROLE,
    USER,
    Principal,
    compiled_identity_policies,
    find_role,
    permissions_boundary,
    principal_tags,
)
from workshop.localcloud.iam.resource_tags import tags_of

log = logging.getLogger("workshop.localcloud.iam")

#: Service-specific condition keys the local cloud knows to be absent unless a request sets
#: them (see actions.py): a condition on them is evaluated, not logged as unsupported.
_KNOWN_REQUEST_KEYS = {"iam:passedtoservice", "iam:policyarn", "aws:tagkeys"}


@dataclass(frozen=True)
class Decision:
    """The answer, with AWS's message when it is a denial."""

    allowed: bool
    explicit_deny: bool
    principal_arn: str
    action: str
    resource: str
    #: refused by a trust policy: AWS's message then gives no reason
    by_trust_policy: bool = False
    #: which policy type refused: identity-based policy, session policy, permissions boundary
    policy_type: str = IDENTITY_POLICY

    @property
    def message(self) -> str:
        if self.allowed:
            return ""
        if self.by_trust_policy:
            return (
                f"User: {self.principal_arn} is not authorized to perform: {self.action} "
                f"on resource: {self.resource}"
            )
        return denial_message(
            self.principal_arn, self.action, self.resource,
            explicit=self.explicit_deny, policy_type=self.policy_type,
        )


def condition_keys(principal: Principal, check: Check, region: str = config.REGION) -> KeyLookup:
    """The request context a policy's conditions and ``${...}`` variables read (lower-case keys).

    Global keys (IAM User Guide, "AWS global condition context keys") the local cloud can know,
    the request's own keys from :mod:`actions`, and ``aws:ResourceTag/*`` read from moto on
    demand. Any other key raises :class:`UnsupportedCondition` (logged; never allows).
    """
    resource_tags: dict[str, str] | None = None
    tags_of_principal: dict[str, str] | None = None

    def lookup(key: str) -> list[str] | None:
        nonlocal resource_tags, tags_of_principal
        if key in check.keys:
            return check.keys[key]
        service, _, rest = key.partition(":")
        if rest.startswith("resourcetag/"):
            # aws:ResourceTag/k, and the services' own forms (iam:ResourceTag/k ...).
            if check.resource == "*":
                return None
            if resource_tags is None:
                resource_tags = {k.lower(): v for k, v in tags_of(check.resource).items()}
            value = resource_tags.get(rest[len("resourcetag/") :])
            return None if value is None else [value]
        if key.startswith("aws:requesttag/") or key in _KNOWN_REQUEST_KEYS:
            return None
        if key.startswith("aws:principaltag/"):
            if tags_of_principal is None:
                tags_of_principal = {k.lower(): v for k, v in principal_tags(principal).items()}
            value = tags_of_principal.get(key[len("aws:principaltag/") :])
            return None if value is None else [value]
        value = _global_key(principal, key, region)
        if value is _UNKNOWN:
            raise UnsupportedCondition(f"condition key {key!r}")
        return value  # type: ignore[return-value]

    return lookup


_UNKNOWN = object()


def _global_key(principal: Principal, key: str, region: str) -> object:
    account = principal.account_id
    if key == "aws:username":
        return [principal.name] if principal.kind == USER else None
    if key == "aws:principalarn":
        return [principal.role_arn or principal.arn]
    if key == "aws:principalaccount" or key == "aws:resourceaccount":
        return [account]
    if key == "aws:principaltype":
        return [{USER: "User", ASSUMED_ROLE: "AssumedRole"}.get(principal.kind, "Account")]
    if key == "aws:userid":
        return [f"{principal.name}:{principal.session_name}" if principal.session_name else principal.name or account]
    if key == "aws:requestedregion":
        return [region]
    if key == "aws:securetransport":
        return ["false"]  # the local cloud speaks plain HTTP on 127.0.0.1
    if key == "aws:sourceip":
        return ["127.0.0.1"]
    if key == "aws:currenttime":
        return [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())]
    if key == "aws:epochtime":
        return [str(int(time.time()))]
    if key in ("aws:viaawsservice", "aws:principalisawsservice"):
        return ["false"]
    if key in ("aws:multifactorauthpresent", "aws:multifactorauthage", "aws:sourcearn",
               "aws:sourceaccount", "aws:sourcevpc", "aws:sourcevpce", "aws:calledvia",
               "aws:calledviafirst", "aws:calledvialast", "aws:principalorgid",
               "aws:principalorgpaths", "aws:tokenissuetime", "aws:federatedprovider",
               "aws:referer", "aws:useragent", "aws:sourceidentity"):
        # Not present on a direct call with an access key (global condition keys page: "this
        # key is not present when ..."); policies must use ...IfExists or Null for them.
        return None
    return _UNKNOWN


def authorize_check(
    principal: Principal, check: Check, region: str = config.REGION, *, log_denial: bool = True
) -> Decision:
    """Evaluate one :class:`Check` for ``principal`` (a denial is logged unless ``log_denial``
    is False, for callers that log it their own way)."""
    if principal.is_root:
        return Decision(True, False, principal.arn, check.action, check.resource)
    lookup = condition_keys(principal, check, region)
    outcome = evaluate(compiled_identity_policies(principal), check.action, check.resource, lookup)
    policy_type = IDENTITY_POLICY
    if outcome is Outcome.ALLOW:
        boundary = permissions_boundary(principal)
        if boundary is not None:
            bounded = evaluate([boundary], check.action, check.resource, lookup)
            if bounded is not Outcome.ALLOW:
                outcome, policy_type = bounded, PERMISSIONS_BOUNDARY
    if outcome is Outcome.ALLOW and principal.session_policy:
        session = compile_any(principal.session_policy)
        session_outcome = evaluate([session] if session else [], check.action, check.resource, lookup)
        if session_outcome is not Outcome.ALLOW:
            outcome, policy_type = session_outcome, SESSION_POLICY
    decision = Decision(
        allowed=outcome is Outcome.ALLOW,
        explicit_deny=outcome is Outcome.EXPLICIT_DENY,
        principal_arn=principal.arn,
        action=check.action,
        resource=check.shown_as or check.resource,
        policy_type=policy_type,
    )
    if not decision.allowed and log_denial:
        log.info("IAM: denied %s", decision.message)
    return decision


def authorize(
    principal: Principal,
    action: str,
    resource: str,
    keys: Mapping[str, list[str]] | None = None,
    *,
    region: str = config.REGION,
) -> Decision:
    """May ``principal`` perform ``action`` (``service:Name``) on ``resource`` (an ARN or ``*``)?

    ``keys``: the request's condition keys, lower case (``{"iam:passedtoservice":
    ["lambda.amazonaws.com"]}``).
    """
    normalized = {k.lower(): list(v) for k, v in (keys or {}).items()}
    return authorize_check(principal, Check(action, resource, normalized), region)


def role_trusts_service(role_arn: str, service: str, *, account_id: str = config.ACCOUNT_ID,
                        source_arn: str | None = None) -> bool:
    """Does the role exist and its trust policy let ``service`` (lambda.amazonaws.com) assume it?"""
    role = find_role(account_id, role_arn)
    if role is None:
        return False
    keys: dict[str, list[str]] = {"aws:sourceaccount": [account_id]}
    if source_arn:
        keys["aws:sourcearn"] = [source_arn]
    return trust_allows(
        role.assume_role_policy_document, "sts:AssumeRole", service=service,
        lookup=lambda key: keys.get(key),
    )


def may_assume(principal: Principal, role_arn: str, region: str = config.REGION) -> Decision:
    """``sts:AssumeRole`` within the account (IAM User Guide, "Cross-account policy evaluation"
    and "How IAM roles differ from resource-based policies"): the trust policy must allow the
    caller; when it trusts the caller's ARN itself that is enough, when it trusts the account
    the caller's identity policies must allow ``sts:AssumeRole`` on the role as well. An
    explicit Deny anywhere wins."""
    check = Check("sts:AssumeRole", role_arn)
    identity = authorize_check(principal, check, region)
    denied = Decision(False, False, principal.arn, check.action, role_arn, by_trust_policy=True)
    if principal.is_root:
        return identity
    if identity.explicit_deny:
        return identity
    role = find_role(principal.account_id, role_arn)
    if role is None:
        return denied
    document = role.assume_role_policy_document
    if trust_allows(document, "sts:AssumeRole", arns=principal.principal_arns):
        return Decision(True, False, principal.arn, check.action, role_arn)
    account = principal.account_id
    if identity.allowed and trust_allows(
        document, "sts:AssumeRole", arns=(f"arn:aws:iam::{account}:root", account)
    ):
        return identity
    return denied
