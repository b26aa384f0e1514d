"""What an AWS error means for cleanup: already gone, not available here, or a real failure.

Treating "not found" as "already gone" is what makes every step safe to run twice.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

# Error codes that mean "the thing is not there (any more)".
GONE_CODES = {
    "NotFoundException",  # API Gateway, Budgets
    "ResourceNotFoundException",  # Lambda, DynamoDB, CloudWatch Logs
    "NoSuchEntity",  # IAM (the modelled exception is NoSuchEntityException, the code NoSuchEntity)
    "NoSuchEntityException",
}
# Error codes that mean "this service or call is not available here" (an emulator without it,
# or a caller without the permission): discovery of that kind is reported, not fatal.
UNAVAILABLE_CODES = {"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                     "InvalidAction", "NotImplemented"}


class DiscoveryIncomplete(RuntimeError):
    """Some resources could not be listed or their tags not read (most often AccessDenied).

    ``found`` is what could be seen; ``warnings`` says what could not, and why. Whoever catches it
    must report it: "nothing found" is only true when nothing was refused.
    """

    def __init__(self, warnings: list[str], found: list | None = None) -> None:
        self.warnings = list(warnings)
        self.found = list(found or [])
        super().__init__("could not look everywhere: " + "; ".join(self.warnings))


class CleanupError(RuntimeError):
    """Cleanup cannot start (for example: no confirmation); the message says what to do."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_gone(error: ClientError) -> bool:
    return error_code(error) in GONE_CODES
