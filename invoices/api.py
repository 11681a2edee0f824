import hashlib
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field

from config.formats import time_parse
from config.parsers import body_object
from invoices.gocoin import invoice_output
from invoices.models import ECHOED_TEXT_FIELDS, Invoice, Status
from invoices.schema import ErrorDocument, InvoiceDocument, InvoiceSearchDocument
from invoices.selectors import InvoiceFilters, invoice_get, invoice_search
from invoices import lifecycle
from invoices.services import InvoiceRequest, idempotent_call, invoice_create, invoice_create_as_writer
from merchants import scopes
from merchants.permissions import TokenHasAnyScope
from merchants.selectors import membership_get, merchant_ids_for_user, writing_membership_get

URL_FIELDS = ("callback_url", "redirect_url")
LONG_TEXT_FIELDS = ("data", "item_description")
EMAIL_MAX_LENGTH = 254
# The price is echoed exactly as sent, so its text is stored as well as its value.
PRICE_TEXT_MAX_LENGTH = Invoice._meta.get_field("base_price_text").max_length


def echo_text(data, *, max_length: int) -> str | None:
    """A text field kept exactly as sent: no trimming; numbers and booleans become their JSON text."""
    if data is None:
        return None
    if isinstance(data, bool):
        text = "true" if data else "false"
    elif isinstance(data, (str, int, Decimal)):
        text = str(data)
    else:
        raise serializers.ValidationError("must be a string")
    if len(text) > max_length:
        raise serializers.ValidationError(f"must be at most {max_length} characters")
    return text


def _echo_max_length(name: str) -> int:
    if name == "customer_email":
        return EMAIL_MAX_LENGTH  # RFC 5321's limit; also keeps the row within its index's size
    return 10000 if name in LONG_TEXT_FIELDS else 2000


@extend_schema_field(OpenApiTypes.STR)
class EchoTextField(serializers.Field):
    """`echo_text` as a documented serializer field."""

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data):
        return echo_text(data, max_length=self.max_length)

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.STR)
class PriceField(serializers.Field):
    """A decimal amount given as a JSON string or number; keeps the text exactly as sent for echoing."""

    default_error_messages = {"required": "can't be blank", "null": "can't be blank"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)) or str(data).strip() == "":
            raise serializers.ValidationError("must be a decimal number")
        text = str(data)
        if len(text) > PRICE_TEXT_MAX_LENGTH:
            raise serializers.ValidationError(f"must be at most {PRICE_TEXT_MAX_LENGTH} characters")
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise serializers.ValidationError("must be a decimal number") from None
        if not value.is_finite():
            raise serializers.ValidationError("must be a decimal number")
        if value.adjusted() >= 18:
            raise serializers.ValidationError("is too large")
        return value, text

    def to_representation(self, value):
        return value


class InvoiceCreateInput(serializers.Serializer):
    base_price = PriceField()
    base_price_currency = serializers.CharField(max_length=8, error_messages={"blank": "can't be blank", "required": "can't be blank"})
    price_currency = serializers.CharField(max_length=8, required=False, allow_null=True, allow_blank=True)
    type = serializers.CharField(max_length=16, required=False, allow_null=True, allow_blank=True)
    confirmations_required = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)

    def to_internal_value(self, data):
        # The echoed text fields share one rule, checked in one loop: as DRF fields they were a tenth of an
        # invoice's cost.
        errors, echoed = {}, {}
        for name in ECHOED_TEXT_FIELDS:
            if name in data:
                try:
                    echoed[name] = echo_text(data[name], max_length=_echo_max_length(name))
                except serializers.ValidationError as exc:
                    errors[name] = exc.detail
        try:
            attrs = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            errors = {**exc.detail, **errors}
        if errors:
            raise serializers.ValidationError(errors)
        attrs.update(echoed)
        return attrs

    def validate(self, attrs):
        for name in URL_FIELDS:
            value = attrs.get(name)
            if value and not value.lower().startswith(("http://", "https://")):
                raise serializers.ValidationError({name: ["must be an http or https URL"]})
        return attrs

    def to_request(self) -> InvoiceRequest:
        data = self.validated_data
        base_price, base_price_text = data["base_price"]
        return InvoiceRequest(
            base_price=base_price,
            base_price_text=base_price_text,
            base_price_currency=data["base_price_currency"],
            price_currency=data.get("price_currency") or None,
            type=data.get("type") or None,
            confirmations_required=data.get("confirmations_required"),
            echoed={name: data[name] for name in ECHOED_TEXT_FIELDS if name in data},
        )


class InvoiceCreateDocument(InvoiceCreateInput):
    """The create request as documented, each echoed text field listed."""

    def get_fields(self):
        fields = super().get_fields()
        fields.update({name: EchoTextField(max_length=_echo_max_length(name)) for name in ECHOED_TEXT_FIELDS})
        return fields


def _request_object(request) -> dict:
    data = body_object(request.data)
    if data is None:
        raise ParseError("the request body must be a JSON object")
    return data


def _fingerprint(request, data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _invoice_location(request, invoice_id: str) -> str:
    return request.build_absolute_uri(f"/api/v1/invoices/{invoice_id}")


class MerchantInvoicesApi(APIView):
    """`POST /merchants/:id/invoices`: create an invoice (or a bill) for the merchant."""

    permission_classes = [TokenHasAnyScope]
    required_scopes = {"POST": scopes.INVOICE_CREATE}

    @extend_schema(
        operation_id="invoice_create",
        request=InvoiceCreateDocument,
        responses={201: InvoiceDocument, 400: ErrorDocument, 401: ErrorDocument, 403: ErrorDocument,
                   404: ErrorDocument, 422: ErrorDocument, 503: ErrorDocument},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, description=(
            "Repeating a request with the same key and body within 24 hours returns the first response; "
            "the same key with another body is 422."))],
        description="Creates an invoice priced from the spot rate with its own payment address, or a bill "
        '(`type: "bill"` without `price_currency`) that waits for the customer to choose a currency.',
    )
    def post(self, request, merchant_id):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            body = self._checked(request, merchant_id)
            invoice = invoice_create_as_writer(user=request.user, merchant_id=merchant_id, request=body.to_request())
            return self._created(request, invoice_output(invoice))
        membership = writing_membership_get(user=request.user, merchant_id=merchant_id)
        if not key.strip() or len(key) > 255:
            raise serializers.ValidationError({"Idempotency-Key": ["must be 1 to 255 characters"]})
        data = _request_object(request)

        def produce():
            body = InvoiceCreateInput(data=data)
            body.is_valid(raise_exception=True)
            invoice = invoice_create(merchant=membership.merchant, request=body.to_request())
            return 201, invoice_output(invoice), invoice

        status, output, replayed = idempotent_call(
            merchant=membership.merchant, key=key, fingerprint=_fingerprint(request, data), produce=produce
        )
        response = self._created(request, output, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @staticmethod
    def _checked(request, merchant_id) -> InvoiceCreateInput:
        """The request's body, validated; a user who may not create invoices at the merchant is refused (404, 403)
        before the body is."""
        try:
            body = InvoiceCreateInput(data=_request_object(request))
            body.is_valid(raise_exception=True)
        except (ParseError, serializers.ValidationError):
            writing_membership_get(user=request.user, merchant_id=merchant_id)
            raise
        return body

    @staticmethod
    def _created(request, output: dict, status: int = 201) -> Response:
        return Response(output, status=status, headers={"Location": _invoice_location(request, output["id"])})


def _writable_merchant_ids(request) -> list:
    """The merchants whose invoices this user may change; viewers may not."""
    memberships = request.user.memberships.all()
    writable = [m.merchant_id for m in memberships if m.can_write]
    if memberships and not writable:
        raise PermissionDenied("your role at this merchant may not change invoices")
    return writable


class InvoiceApi(APIView):
    """`GET /invoices/:id` reads an invoice; `PATCH` picks a bill's currency or closes a shipped invoice."""

    permission_classes = [TokenHasAnyScope]
    required_scopes = {"GET": scopes.INVOICE_READ, "PATCH": scopes.INVOICE_CREATE}

    class InvoiceUpdateInput(serializers.Serializer):
        price_currency = serializers.CharField(max_length=8, required=False)
        status = serializers.ChoiceField(choices=list(lifecycle.CLOSING_MOVES), required=False)

        def validate(self, attrs):
            if len(attrs) != 1:
                raise serializers.ValidationError("send exactly one of price_currency (a bill's currency) or status (fulfilled, refunded)")
            return attrs

    @extend_schema(operation_id="invoice_get", responses={200: InvoiceDocument, 401: ErrorDocument, 403: ErrorDocument, 404: ErrorDocument})
    def get(self, request, invoice_id):
        invoice = invoice_get(merchant_ids=merchant_ids_for_user(user=request.user), invoice_id=invoice_id)
        return Response(invoice_output(invoice))

    @extend_schema(operation_id="invoice_update", request=InvoiceUpdateInput,
                   responses={200: InvoiceDocument, 404: ErrorDocument, 422: ErrorDocument, 503: ErrorDocument})
    def patch(self, request, invoice_id):
        body = self.InvoiceUpdateInput(data=_request_object(request))
        body.is_valid(raise_exception=True)
        merchant_ids = _writable_merchant_ids(request)
        if "price_currency" in body.validated_data:
            lifecycle.bill_currency_choose(invoice_id=invoice_id, merchant_ids=merchant_ids, currency=body.validated_data["price_currency"])
        else:
            lifecycle.invoice_close(invoice_id=invoice_id, merchant_ids=merchant_ids, status=body.validated_data["status"])
        return Response(invoice_output(invoice_get(merchant_ids=merchant_ids, invoice_id=invoice_id)))


class InvoiceReviewApi(APIView):
    """`PUT /invoices/:id/accept`, `/cancel` and `/refresh_merchant_review_spot_rate` for invoices in review."""

    permission_classes = [TokenHasAnyScope]
    required_scopes = {"PUT": scopes.INVOICE_CREATE}
    action = ""

    class CancelInput(serializers.Serializer):
        refund_address = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True)

    @extend_schema(request=CancelInput, responses={200: InvoiceDocument, 404: ErrorDocument, 422: ErrorDocument})
    def put(self, request, invoice_id):
        merchant_ids = _writable_merchant_ids(request)
        if self.action == "accept":
            lifecycle.review_accept(invoice_id=invoice_id, merchant_ids=merchant_ids)
        elif self.action == "cancel":
            body = self.CancelInput(data=_request_object(request))
            body.is_valid(raise_exception=True)
            lifecycle.review_cancel(invoice_id=invoice_id, merchant_ids=merchant_ids,
                                    refund_address=body.validated_data.get("refund_address"))
        else:
            lifecycle.review_rate_refresh(invoice_id=invoice_id, merchant_ids=merchant_ids)
        return Response(invoice_output(invoice_get(merchant_ids=merchant_ids, invoice_id=invoice_id)))


class InvoiceTestCallbackApi(APIView):
    """`POST /invoices/:id/test_callback` sends the invoice as it is now to its callback URL, signed like any event."""

    permission_classes = [TokenHasAnyScope]
    required_scopes = {"POST": scopes.INVOICE_CREATE}

    @extend_schema(operation_id="invoice_test_callback", request=None,
                   responses={202: ErrorDocument, 404: ErrorDocument, 422: ErrorDocument})
    def post(self, request, invoice_id):
        event_id = lifecycle.test_callback_send(invoice_id=invoice_id, merchant_ids=_writable_merchant_ids(request))
        return Response({"status": 202, "message": "test callback queued", "event_id": str(event_id)}, status=202)


class InvoiceSearchApi(APIView):
    """`GET /invoices/search`: the token's merchants' invoices, filtered, newest first, paged."""

    permission_classes = [TokenHasAnyScope]
    required_scopes = {"GET": scopes.INVOICE_READ}

    class Input(serializers.Serializer):
        merchant_id = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=Status.values, required=False)
        start_time = serializers.CharField(required=False)
        end_time = serializers.CharField(required=False)
        updated_since = serializers.CharField(required=False)
        page = serializers.IntegerField(required=False, min_value=1)
        page_number = serializers.IntegerField(required=False, min_value=1)
        per_page = serializers.IntegerField(required=False, min_value=1)
        order_id = serializers.CharField(required=False, trim_whitespace=False)
        customer_email = serializers.CharField(required=False, trim_whitespace=False)
        customer_name = serializers.CharField(required=False, trim_whitespace=False)
        item_name = serializers.CharField(required=False, trim_whitespace=False)
        item_sku = serializers.CharField(required=False, trim_whitespace=False)

        def validate_per_page(self, value):
            if value > settings.SEARCH_MAX_PER_PAGE:
                raise serializers.ValidationError(f"must be at most {settings.SEARCH_MAX_PER_PAGE}")
            return value

        def validate_start_time(self, value):
            return _parse_time(value, end_of_day=False)

        def validate_end_time(self, value):
            return _parse_time(value, end_of_day=True)

        def validate_updated_since(self, value):
            return _parse_time(value, end_of_day=False)

    @extend_schema(
        operation_id="invoice_search",
        parameters=[Input],
        responses={200: InvoiceSearchDocument, 401: ErrorDocument, 403: ErrorDocument, 404: ErrorDocument, 422: ErrorDocument},
    )
    def get(self, request):
        params = self.Input(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        query = params.validated_data
        if "merchant_id" in query:
            merchant_ids = [membership_get(user=request.user, merchant_id=query["merchant_id"]).merchant_id]
        else:
            merchant_ids = merchant_ids_for_user(user=request.user)
        page = query.get("page") or query.get("page_number") or 1
        per_page = query.get("per_page") or 50
        filters = InvoiceFilters(
            merchant_ids=merchant_ids,
            **{name: query.get(name) for name in (
                "status", "start_time", "end_time", "updated_since",
                "order_id", "customer_email", "customer_name", "item_name", "item_sku",
            )},
        )
        invoices, total = invoice_search(filters=filters, page=page, per_page=per_page)
        return Response(
            {
                "status": 200,
                "invoices": [invoice_output(invoice) for invoice in invoices],
                "paging_info": {"total": total, "page": page, "per_page": per_page},
            }
        )


def _parse_time(value: str, *, end_of_day: bool) -> datetime:
    moment = time_parse(value, end_of_day=end_of_day)
    if moment is None:
        raise serializers.ValidationError("must be an ISO 8601 time, like 2014-03-14T00:00:00.000Z")
    return moment
