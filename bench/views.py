"""The baseline the invoice endpoint is measured against: the same authentication and scope check, one INSERT.

`bench_row` is created by bench/create_invoices.py with raw SQL; it is not a model and has no migration.
"""

import json
import uuid

from django.db import connection
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants.permissions import TokenHasAnyScope


class BaselineApi(APIView):
    """`POST /bench/baseline?merchant_id=<uuid>`: authenticates the bearer token, checks its scope like
    `POST /merchants/:id/invoices` does, stores the parsed JSON body as one row and answers 201."""

    # Authentication is the REST_FRAMEWORK default, the same AccessTokenAuthentication the real endpoint uses.
    permission_classes = [TokenHasAnyScope]
    required_scopes = {"POST": ("invoice_write", "invoice_read_write")}

    def post(self, request):
        try:
            merchant_id = uuid.UUID(request.query_params.get("merchant_id", ""))
        except ValueError:
            raise ParseError("merchant_id must be a UUID") from None
        if not isinstance(request.data, dict):
            raise ParseError("the request body must be a JSON object")
        body = json.dumps(request.data, default=str, separators=(",", ":"))
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_row (merchant_id, body) VALUES (%s, %s) RETURNING id, created_at",
                [str(merchant_id), body],
            )
            row_id, created_at = cursor.fetchone()
        return Response(
            {"id": row_id, "merchant_id": str(merchant_id), "created_at": created_at.isoformat()}, status=201
        )
