"""Corrections to the OpenAPI schema drf-spectacular generates, so it says what the API does."""

from __future__ import annotations

from typing import Any

# Names as the field writes them: a schema-driven client (or fuzzer) starts from ones that exist.
QUERY_EXAMPLES = {
    "departamento": "Peten",
    "municipio": "Flores",
    "papeleta": "Blanca",
    "partido": "UNE",
    "sede": "7",
    "route": "grpc",
}


# Answered by gunicorn (limit_request_line, 4094 bytes) or a proxy before the API sees the request.
URI_TOO_LONG = {"description": "The request line is too long (over 4094 bytes under gunicorn)"}
# Any read can be: the database over the API's statement time limit or unreachable (views.py).
UNAVAILABLE = "The database did not answer within the API's time limit, or is unreachable"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def query_parameters_described(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Mark every optional query parameter `allowEmptyValue`, give the names an example, and
    document the 414 and the 503 (with Retry-After) any operation can get.

    A blank parameter counts as absent: DRF's rule for form-style input (`?limit=` is the
    default limit) and the filters' own ("empty filters are harmless",
    election.api.names.name_clean). Without this the schema calls `?limit=` invalid while
    the API answers it 200. The cursor is the exception: a blank cursor is a bad cursor (400).
    """
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("414", URI_TOO_LONG)
                operation["responses"].setdefault("503", {"description": UNAVAILABLE})
                operation["responses"]["503"].setdefault("headers", RETRY_AFTER)
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                if parameter.get("in") != "query":
                    continue
                if not parameter.get("required") and parameter["name"] != "cursor":
                    parameter["allowEmptyValue"] = True
                if parameter["name"] in QUERY_EXAMPLES:
                    parameter.setdefault("example", QUERY_EXAMPLES[parameter["name"]])
    return result
