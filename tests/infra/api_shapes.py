"""Check request parameters against the AWS API's own shape definitions (botocore's service models).

botocore validates types and required members on the client side, but not the constraints that make a real
API call fail: string patterns, maximum lengths, enums, numeric ranges. The walk is the twin's own
(local_endpoint/aws_validation.py), which words each failure as AWS's ValidationException does; here it also
reports members the shape does not have, a misspelled parameter in the program.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session

from local_endpoint.aws_validation import WrongType, problems


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def violations(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every constraint `params` break, AWS's wording; a value of the wrong JSON type is one violation."""
    shape = _service_model(service).operation_model(operation).input_shape
    try:
        return problems(shape, params, unknown_members=True)
    except WrongType as error:
        return [f"{operation}: {error}"]
