# Lab 02 starter file, generated from solutions/lambda/custom_encoder.py: replace every TODO with your code.
"""A JSON encoder that understands the types boto3 returns from DynamoDB.

The Decimal story
-----------------
DynamoDB has one number type, and boto3 hands every number back to you as a
``decimal.Decimal`` (and refuses Python ``float`` on the way in with
"Float types are not supported. Use Decimal types instead", because a float
cannot hold 19.99 exactly). Python's ``json`` module does not know Decimal:
``json.dumps({"price": Decimal("19.99")})`` raises
"TypeError: Object of type Decimal is not JSON serializable".

``json.JSONEncoder`` calls ``default(obj)`` for every object it cannot
encode itself. We override it and turn each DynamoDB type into something JSON
has:

* Decimal  -> int when it is a whole number (500 stays 500, not 500.0),
              float otherwise (19.99 stays 19.99)
* set      -> list (DynamoDB string, number and binary sets come back as sets)
* Binary / bytes -> base64 text (JSON has no bytes type)

Use it as ``json.dumps(data, cls=CustomEncoder)``.
"""

import base64
import json
from decimal import Decimal

from boto3.dynamodb.types import Binary


class CustomEncoder(json.JSONEncoder):
    """``json.dumps(..., cls=CustomEncoder)`` for items read from DynamoDB."""

    def default(self, obj):
        """Return a JSON-friendly version of ``obj``, or defer to the base class.

        TODO: handle Decimal (int for whole numbers, float otherwise), set
        (a list), and Binary/bytes (base64 text). For anything else call
        ``super().default(obj)``, which raises TypeError: unknown types must
        fail loudly instead of being silently turned into text.
        """
        # TODO: write this part (the docstring above says what it must do)
        raise NotImplementedError("TODO: write this part (the docstring above says what it must "
                                  "do)")
        return super().default(obj)
