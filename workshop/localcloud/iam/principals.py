"""Who is calling: the account root, an IAM user, or an assumed-role session.

AWS identifies a caller by the access key id in the SigV4 ``Credential=`` scope (plus the
``X-Amz-Security-Token`` of temporary credentials). The local cloud does the same against moto's
IAM and STS backends:

- keys in AWS's own format (``AKIA`` or ``ASIA`` and 16 upper-case letters or digits — the
  format moto gives ``iam.create_access_key`` and ``sts.assume_role``) must belong to an active
  IAM user's key or to an assumed-role session; otherwise the request is refused as AWS refuses
  an unknown or deleted key: ``InvalidClientTokenId`` / ``UnrecognizedClientException``, "The
  security token included in the request is invalid." A session key used with a missing or
  different session token is refused the same way.
- any other key — the notebooks' ``testing``, a test's ``fake`` — is the account root,
  unrestricted, so a learner working alone sees no change.

The signature itself is not verified (the local cloud is on 127.0.0.1 and has no secrets worth
guarding); temporary credentials do not expire locally.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from workshop.localcloud.iam.policy import CompiledPolicy, compile_any

#: Access key ids in AWS's format (IAM User Guide, "Unique identifiers": AKIA long-term, ASIA
#: temporary).
AWS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
PARTITION = "aws"

ROOT = "root"
USER = "user"
ASSUMED_ROLE = "assumed-role"


class InvalidCredentials(Exception):
    """The access key (or its session token) is not known: AWS answers InvalidClientTokenId."""


@dataclass(frozen=True)
class Principal:
    """The identity a request acts as."""

    kind: str  # ROOT, USER or ASSUMED_ROLE
    arn: str  # user ARN, assumed-role session ARN, or arn:aws:iam::ACCOUNT:root
    account_id: str
    name: str = ""  # user name or role name
    session_name: str = ""
    role_arn: str = ""  # the role of an assumed-role session
    session_policy: str | None = field(default=None, compare=False)

    @property
    def is_root(self) -> bool:
        return self.kind == ROOT

    @property
    def principal_arns(self) -> tuple[str, ...]:
        """The ARNs a trust policy's ``Principal: {"AWS": ...}`` may name this caller by."""
        arns = [self.arn]
        if self.role_arn:
            arns.append(self.role_arn)
        return tuple(arns)


def root_principal(account_id: str) -> Principal:
    return Principal(kind=ROOT, arn=f"arn:{PARTITION}:iam::{account_id}:root", account_id=account_id)


def _iam(account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id][PARTITION]


def _sts(account_id: str) -> Any:
    from moto.sts.models import sts_backends

    return sts_backends[account_id][PARTITION]


class PrincipalDirectory:
    """Finds the principal of an access key in moto's backends, with an index per key."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}  # access key id -> moto AssumedRole
        self._sessions_seen = 0
        self._user_keys: dict[str, str] = {}  # access key id -> user name (verified on use)

    def identify(self, access_key_id: str, session_token: str | None) -> Principal:
        if not access_key_id or not AWS_KEY_ID.match(access_key_id):
            return root_principal(self.account_id)
        if access_key_id.startswith("AKIA"):
            if session_token:
                raise InvalidCredentials("a long-term key sent with a session token")
            return self._user_for_key(access_key_id)
        return self._session_for_key(access_key_id, session_token)

    def _user_for_key(self, access_key_id: str) -> Principal:
        backend = _iam(self.account_id)
        cached = backend.users.get(self._user_keys.get(access_key_id, ""))
        # The user this key belonged to last time first; the others only when it moved.
        users = ([cached] if cached is not None else []) + list(backend.users.values())
        for user in users:
            for key in user.access_keys:
                if key.access_key_id == access_key_id:
                    if key.status != "Active":
                        raise InvalidCredentials("the access key is inactive")
                    self._user_keys[access_key_id] = user.name
                    return Principal(
                        kind=USER, arn=user.arn, account_id=self.account_id, name=user.name
                    )
        raise InvalidCredentials("no user has this access key")

    def _session_for_key(self, access_key_id: str, session_token: str | None) -> Principal:
        session = self._find_session(access_key_id)
        if session is None:
            raise InvalidCredentials("no session has this access key")
        if session_token != session.session_token:
            raise InvalidCredentials("the session token does not belong to the access key")
        role_arn = session.role_arn
        role_name = role_arn.rsplit("/", 1)[-1]
        return Principal(
            kind=ASSUMED_ROLE,
            arn=f"arn:{PARTITION}:sts::{self.account_id}:assumed-role/{role_name}/{session.session_name}",
            account_id=self.account_id,
            name=role_name,
            session_name=session.session_name,
            role_arn=role_arn,
            session_policy=session.policy or None,
        )

    def _find_session(self, access_key_id: str) -> Any:
        session = self._sessions.get(access_key_id)
        if session is not None:
            return session
        sessions = _sts(self.account_id).assumed_roles
        with self._lock:
            if len(sessions) < self._sessions_seen:
                # moto was reset: its list started again, so does the index.
                self._sessions, self._sessions_seen = {}, 0
            # Index only the sessions added since the last look (moto appends to a list).
            for added in sessions[self._sessions_seen :]:
                self._sessions[added.access_key_id] = added
            self._sessions_seen = len(sessions)
            session = self._sessions.get(access_key_id)
            if session is None:
                # Not among the new ones either: a list replaced behind our back, look at all.
                session = next((s for s in sessions if s.access_key_id == access_key_id), None)
        return session


# -- the policies of a principal --------------------------------------------------------------


def _managed_document(policy: Any) -> str | None:
    for version in policy.versions:
        if version.version_id == policy.default_version_id:
            return version.document
    return None


def _documents_of(holder: Any) -> list[str]:
    documents = list(holder.policies.values())
    for managed in list(holder.managed_policies.values()):
        document = _managed_document(managed)
        if document:
            documents.append(document)
    return documents


def identity_documents(principal: Principal) -> list[str]:
    """The identity-based policy documents that apply to ``principal`` (none for root).

    A user: its inline and attached managed policies and those of every group it is in. A role
    session: its role's inline and attached managed policies (a missing role has none).
    """
    if principal.is_root:
        return []
    backend = _iam(principal.account_id)
    if principal.kind == USER:
        user = backend.users.get(principal.name)
        if user is None:
            return []
        documents = _documents_of(user)
        for group in list(backend.groups.values()):
            if any(member.name == user.name for member in group.users):
                documents.extend(_documents_of(group))
        return documents
    role = find_role(principal.account_id, principal.role_arn)
    return _documents_of(role) if role is not None else []


def compiled_identity_policies(principal: Principal) -> list[CompiledPolicy]:
    """:func:`identity_documents`, compiled (cached by text: IAM changes are seen at once)."""
    compiled = (compile_any(document) for document in identity_documents(principal))
    return [policy for policy in compiled if policy is not None]


def find_role(account_id: str, role_arn_or_name: str) -> Any:
    """moto's Role for an ARN (any path) or a name; None when it does not exist."""
    backend = _iam(account_id)
    is_arn = role_arn_or_name.startswith("arn:")
    name = role_arn_or_name.rsplit("/", 1)[-1] if is_arn else role_arn_or_name
    # Compare the cheap name first (moto computes ``arn`` on every access), the ARN (which has
    # the path) only for the role of that name.
    for role in list(backend.roles.values()):
        if role.name == name and (not is_arn or role.arn == role_arn_or_name):
            return role
    return None


def permissions_boundary(principal: Principal) -> CompiledPolicy | None:
    """The role's permissions boundary (a managed policy), compiled; None when it has none.

    IAM User Guide, "Permissions boundaries for IAM entities": the effective permissions are
    the intersection of the identity-based policies and the boundary.
    """
    if principal.kind != ASSUMED_ROLE:
        return None
    role = find_role(principal.account_id, principal.role_arn)
    boundary_arn = getattr(role, "permissions_boundary_arn", None) if role is not None else None
    if not boundary_arn:
        return None
    policy = _iam(principal.account_id).managed_policies.get(boundary_arn)
    document = _managed_document(policy) if policy is not None else None
    # A boundary that names no readable policy allows nothing.
    return compile_any(document) if document else compile_any('{"Statement": []}')


def principal_tags(principal: Principal) -> dict[str, str]:
    """aws:PrincipalTag/*: the user's or the role's tags."""
    if principal.is_root:
        return {}
    backend = _iam(principal.account_id)
    if principal.kind == USER:
        user = backend.users.get(principal.name)
        if user is None:
            return {}
        tags = backend.tagger.list_tags_for_resource(user.arn)["Tags"]
        return {t["Key"]: t["Value"] for t in tags}
    role = find_role(principal.account_id, principal.role_arn)
    if role is None:
        return {}
    return {t["Key"]: t["Value"] for t in (role.tags or {}).values()} if isinstance(role.tags, dict) else {}
