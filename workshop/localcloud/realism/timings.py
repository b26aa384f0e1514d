"""How long AWS takes, in seconds at scale 1.0: one table, each value with its source.

AWS publishes few exact figures for these; where it gives none, the value is a typical one
observed and it is said so. Every duration is multiplied by ``WORKSHOP_REALISM_SCALE``.
"""

from __future__ import annotations

#: A new IAM role, or a role whose trust policy changed, cannot be assumed by Lambda for a few
#: seconds ("eventually consistent"; IAM user guide, "Troubleshoot IAM: changes that I make are
#: not always immediately visible"). create_function then fails with
#: InvalidParameterValueException "The role defined for the function cannot be assumed by
#: Lambda." About 10 s is typical; AWS gives no figure.
ROLE_PROPAGATION_S = 10.0

#: A new function is Pending, then Active; an update is InProgress, then Successful. "In most
#: cases your function is ready to be invoked or modified after a few seconds" (Lambda developer
#: guide, "Lambda function states"). No exact figure is published.
FUNCTION_CREATE_S = 3.0
FUNCTION_UPDATE_S = 3.0

#: CreateTable answers CREATING; "after the table is created, DynamoDB sets the TableStatus to
#: ACTIVE" (DynamoDB API reference, CreateTable). DeleteTable answers DELETING and the table is
#: gone a little later. Seconds for an empty on-demand table; no exact figure is published.
TABLE_CREATE_S = 5.0
TABLE_DELETE_S = 5.0

#: Log events are searchable a few seconds after Lambda writes them (CloudWatch Logs ingests
#: asynchronously; the docs promise no delay). 3 s is typical.
LOG_VISIBILITY_S = 3.0
