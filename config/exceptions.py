"""One error contract: domain errors and DRF errors become GoCoin's `{status, message, errors}` bodies."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from chain.errors import ChainError
from invoices.errors import IdempotencyConflict, InvoiceInputError
from rates.errors import RateUnavailable


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "base" if key in ("non_field_errors", "__all__") else key
            errors.update(_flatten(value, f"{prefix}{name}" if not prefix else f"{prefix}.{name}"))
        return errors
    if isinstance(detail, list) and detail and all(not isinstance(item, (dict, list)) for item in detail):
        return {prefix or "base": [str(item) for item in detail]}
    if isinstance(detail, list):
        errors = {}
        for index, item in enumerate(detail):
            errors.update(_flatten(item, f"{prefix}[{index}]"))
        return errors
    return {prefix or "base": [str(detail)]}


def validation_body(errors: dict[str, list[str]]) -> dict:
    first_field, messages = next(iter(errors.items()))
    return {
        "status": 422,
        "message": f"Validation failed: {first_field} {messages[0]}",
        "errors": errors,
    }


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    if isinstance(exc, InvoiceInputError):
        return Response(validation_body({exc.field: [exc.message]}), status=422)
    if isinstance(exc, IdempotencyConflict):
        return Response(validation_body({"Idempotency-Key": [exc.message]}), status=422)
    if isinstance(exc, RateUnavailable):
        return Response({"status": 503, "message": exc.message}, status=503, headers={"Retry-After": "30"})
    if isinstance(exc, ChainError):
        return Response(validation_body({"base": [exc.message]}), status=422)

    if isinstance(exc, exceptions.ValidationError):
        return Response(validation_body(_flatten(exc.detail)), status=422)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        message = "an access token is required" if isinstance(exc, exceptions.NotAuthenticated) else str(exc.detail)
        headers = {"WWW-Authenticate": 'Bearer realm="api"'}
        return Response({"status": 401, "message": message, "error": "invalid_token"}, status=401, headers=headers)
    if isinstance(exc, exceptions.PermissionDenied):
        return Response({"status": 403, "message": str(exc.detail), "error": "insufficient_scope"}, status=403)
    if isinstance(exc, exceptions.APIException):
        code = exc.status_code
        message = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else "request failed"
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            headers["Retry-After"] = str(int(exc.wait))
        return Response({"status": code, "message": message}, status=code, headers=headers)
    return None


