"""Lab 08: a Lambda TOKEN authorizer for the inventory API's write methods.

API Gateway calls it before POST, PATCH and DELETE with
``{"type": "TOKEN", "authorizationToken": "Bearer <token>", "methodArn": "arn:aws:execute-api:..."}``
and enforces the IAM policy it returns:

- no valid token          -> raise Exception("Unauthorized"): API Gateway answers 401;
- a valid token           -> Allow execute-api:Invoke on every method of this API stage
                             (the answer is cached per token, so it must fit every method);
- a token of a read-only clerk -> an explicit Deny: API Gateway answers 403.

A token is ``<clerk>.<signature>``: the HMAC-SHA256 of the clerk's name with the secret in the
environment variable TOKEN_SECRET, base64url-encoded. Whoever holds the secret can issue tokens
(the lab's notebook does); the function stores no list of tokens. Names in READ_ONLY_CLERKS
(comma-separated) get the Deny. The clerk's name travels to the inventory function in
``requestContext.authorizer``.

Real systems use a proper token issuer (Amazon Cognito, an OIDC provider and a JWT library);
this is the smallest authorizer that shows how API Gateway uses one. It needs no AWS
permission except writing its own logs.
"""

import base64
import hashlib
import hmac
import os
import re

TOKEN_PATTERN = re.compile(r"^Bearer ([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$")


def sign(clerk, secret):
    """The signature part of a token for ``clerk``."""
    digest = hmac.new(secret.encode("utf-8"), clerk.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def lambda_handler(event, context):
    secret = os.environ.get("TOKEN_SECRET", "")
    matched = TOKEN_PATTERN.match(str(event.get("authorizationToken", "")))
    if not secret or not matched:
        raise Exception("Unauthorized")  # the exact message API Gateway turns into 401
    clerk, signature = matched.groups()
    if not hmac.compare_digest(signature, sign(clerk, secret)):
        raise Exception("Unauthorized")
    read_only = {name.strip() for name in os.environ.get("READ_ONLY_CLERKS", "").split(",") if name.strip()}
    effect = "Deny" if clerk in read_only else "Allow"
    return {
        "principalId": clerk,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": stage_wide(event["methodArn"])}
            ],
        },
        "context": {"clerk": clerk},
    }


def stage_wide(method_arn):
    """arn:...:{api}/{stage}/{VERB}/{path} -> arn:...:{api}/{stage}/*: every method of the stage."""
    api_and_stage = method_arn.split("/")[:2]
    return "/".join(api_and_stage) + "/*"
