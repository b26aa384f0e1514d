"""The labs the checks know: their numbers, folders and titles, and how people type them."""

from __future__ import annotations

LABS = {
    "00": "00-setup",
    "01": "01-dynamodb-table",
    "02": "02-lambda-function",
    "03": "03-deploy-lambda",
    "04": "04-api-gateway",
    "05": "05-use-the-api",
    "06": "06-troubleshooting",
    "07": "07-cleanup",
    "08": "08-stock-and-protection",
}
TITLES = {
    "00": "setup: the target answers",
    "01": "the DynamoDB table",
    "02": "the two-file Lambda (your local files)",
    "03": "the deployed Lambda and its role",
    "04": "API Gateway with CORS",
    "05": "using the API",
    "06": "troubleshooting: errors answered, logs written",
    "07": "cleanup: nothing left",
    "08": "stock changes and a protected API",
}
DEFAULT_LAB = "06"  # with no LAB argument: the whole stack as it stands after lab 06
CLASS_LABS = ("01", "03", "04", "05", "06", "08")  # labs that live in the account (lab 02 is local;
# 07 is the cleanup, a state of nothing left rather than a step reached)


def parse_lab(text: str) -> str:
    """'4', '04', 'lab04', '04-api-gateway' -> '04'."""
    raw = text.strip().lower().removeprefix("lab").strip("-_ ")
    digits = raw.split("-", 1)[0]
    if not digits.isdigit() or f"{int(digits):02d}" not in LABS:
        raise ValueError(f"{text!r} is not a lab: use a number from 00 to 08 (for example 04).")
    return f"{int(digits):02d}"


def labs_through(lab: str) -> list[str]:
    """The labs whose results must hold once ``lab`` is done (07 stands alone: all is gone; 08
    builds the stack again, so it needs every lab but 07)."""
    if lab == "07":
        return ["07"]
    return [key for key in LABS if key <= lab and key != "07"]
