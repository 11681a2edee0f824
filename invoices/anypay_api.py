"""Anypay's API (`/anypay/...`): its merchant endpoints with Basic token auth, and the wallets' payment protocol.

Errors keep Anypay's bodies: `{"error": "<field> <message>"}` with 400 for bad input, Hapi's
`{statusCode, error, message}` with 401 for bad credentials, and the protocol's own bodies for wallets.
"""

import json
from datetime import datetime
from pathlib import Path

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chain.errors import ChainError
from config.formats import time_parse
from config.parsers import body_object
from invoices import anypay, paypro
from invoices.api import EMAIL_MAX_LENGTH, PriceField
from invoices.errors import InvoiceInputError
from merchants import scopes
from merchants.authentication import BasicAccessTokenAuthentication
from merchants.models import Membership
from merchants.permissions import TokenHasAnyScope
from merchants.selectors import membership_get, merchant_ids_for_user, primary_merchant_id
from rates.errors import RateUnavailable

LOGOS = Path(__file__).resolve().parent / "static" / "anypay"
TEXT_FIELDS = {
    "external_id": 2000, "business_id": 255, "location_id": 255, "register_id": 255, "memo": 2000, "email": EMAIL_MAX_LENGTH,
}
URL_FIELDS = ("redirect_url", "webhook_url")
PAYPRO_CONTENT_TYPES = ("application/payment-request", "application/payment-verification", "application/payment")


def _error_message(detail) -> str:
    """The first validation message, as `<field> <message>`."""
    while isinstance(detail, list) and detail:
        detail = detail[0]
    if isinstance(detail, dict) and detail:
        field, messages = next(iter(detail.items()))
        message = _error_message(messages)
        return message if field in ("non_field_errors", "__all__") else f"{field} {message}"
    return str(detail)


def anypay_exception_handler(exc, context):
    if isinstance(exc, Http404):
        return Response({"error": str(exc) or "Not Found"}, status=404)
    if isinstance(exc, InvoiceInputError):
        return Response({"error": f"{exc.field} {exc.message}"}, status=400)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"error": _error_message(exc.detail)}, status=400)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        message = "Missing authentication" if isinstance(exc, exceptions.NotAuthenticated) else str(exc.detail)
        return Response({"statusCode": 401, "error": "Unauthorized", "message": message}, status=401,
                        headers={"WWW-Authenticate": 'Basic realm="anypay"'})
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return Response({"error": str(getattr(exc, "detail", exc)) or "Forbidden"}, status=403)
    if isinstance(exc, RateUnavailable):
        return Response({"error": exc.message}, status=503, headers={"Retry-After": "30"})
    if isinstance(exc, ChainError):
        return Response({"error": exc.message}, status=400)
    if isinstance(exc, exceptions.APIException):
        return Response({"error": _error_message(exc.detail)}, status=exc.status_code)
    return None


class AnypayApiView(APIView):
    authentication_classes = [BasicAccessTokenAuthentication]
    permission_classes = [TokenHasAnyScope]
    required_scopes: dict = {}

    def get_exception_handler(self):
        return anypay_exception_handler


def _merchant_membership(request, *, write: bool) -> Membership:
    """The merchant the token acts for: its API key's, or else its user's first merchant."""
    api_key = getattr(request.auth, "api_key", None) if request.auth is not None else None
    merchant_id = api_key.merchant_id if api_key is not None else primary_merchant_id(user=request.user)
    if merchant_id is None:
        raise exceptions.PermissionDenied("this access token belongs to no merchant")
    membership = membership_get(user=request.user, merchant_id=merchant_id)
    if write and not membership.can_write:
        raise exceptions.PermissionDenied("your role at this merchant may not change invoices")
    return membership


def _body(request) -> dict:
    data = body_object(request.data)
    if data is None:
        raise exceptions.ValidationError({"body": ["must be a JSON object"]})
    return data


def _text_field(max_length: int) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=max_length,
        error_messages={"max_length": f"must be at most {max_length} characters", "invalid": "must be a string"},
    )


class AmountField(serializers.Field):
    default_error_messages = {"required": "is required", "null": "is required"}

    def to_internal_value(self, data):
        value, text = PriceField().to_internal_value(data)
        return value, text.strip()

    def to_representation(self, value):
        return value


class CreateInput(serializers.Serializer):
    amount = AmountField()
    currency = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=8,
        error_messages={"max_length": "is not a supported currency", "invalid": "must be a string"},
    )

    def get_fields(self):
        fields = super().get_fields()
        fields.update({name: _text_field(2000) for name in URL_FIELDS})
        fields.update({name: _text_field(size) for name, size in TEXT_FIELDS.items()})
        return fields

    def validate(self, attrs):
        for name in URL_FIELDS:
            value = attrs.get(name)
            if value and not value.lower().startswith(("http://", "https://")):
                raise serializers.ValidationError({name: ["must be an http or https URL"]})
        return attrs

    def to_request(self) -> anypay.AnypayInvoiceRequest:
        data = self.validated_data
        amount, amount_text = data["amount"]
        texts = {name: data.get(name) or None for name in (*URL_FIELDS, *TEXT_FIELDS)}
        return anypay.AnypayInvoiceRequest(
            amount=amount, amount_text=amount_text, currency=(data.get("currency") or "").upper() or None, **texts
        )


class ListInput(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=anypay.LIST_MAX_LIMIT)
    offset = serializers.IntegerField(required=False, min_value=0)
    start_date_created = serializers.CharField(required=False)
    end_date_created = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    business_id = serializers.CharField(required=False, trim_whitespace=False)
    location_id = serializers.CharField(required=False, trim_whitespace=False)
    register_id = serializers.CharField(required=False, trim_whitespace=False)
    external_id = serializers.CharField(required=False, trim_whitespace=False)
    group_by = serializers.ChoiceField(required=False, choices=anypay.SALES_POINT_FIELDS, error_messages={
        "invalid_choice": f"must be one of {', '.join(anypay.SALES_POINT_FIELDS)}"})

    def validate_start_date_created(self, value):
        return _parse_time(value, end_of_day=False)

    def validate_end_date_created(self, value):
        return _parse_time(value, end_of_day=True)


def _parse_time(value: str, *, end_of_day: bool) -> datetime:
    moment = time_parse(value, end_of_day=end_of_day)
    if moment is None:
        raise serializers.ValidationError("must be an ISO 8601 date or time, like 2025-01-31")
    return moment


class InvoicesApi(AnypayApiView):
    """`POST /anypay/invoices` creates an invoice payable in every coin; `GET` lists the merchant's invoices."""

    required_scopes = {"POST": scopes.INVOICE_CREATE, "GET": scopes.INVOICE_READ}

    def post(self, request):
        membership = _merchant_membership(request, write=True)
        body = CreateInput(data=_body(request))
        body.is_valid(raise_exception=True)
        invoice = anypay.anypay_invoice_create(merchant=membership.merchant, request=body.to_request())
        return Response(anypay.create_output(invoice))

    def get(self, request):
        membership = _merchant_membership(request, write=False)
        params = ListInput(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        query = params.validated_data
        limit, offset = query.get("limit", 100), query.get("offset", 0)
        filters = anypay.AnypayFilters(
            merchant_id=membership.merchant_id,
            **{name: query.get(name) for name in (
                "status", "start_date_created", "end_date_created",
                "business_id", "location_id", "register_id", "external_id",
            )},
        )
        invoices, totals = anypay.anypay_invoice_list(filters=filters, limit=limit, offset=offset)
        body = {
            "invoices": [anypay.invoice_output(invoice) for invoice in invoices],
            "limit": limit,
            "offset": offset,
            "totals": totals,
        }
        if query.get("group_by"):
            body["totals_by"] = anypay.anypay_invoice_totals_by(merchant_id=membership.merchant_id, field=query["group_by"])
        return Response(body)


class InvoiceApi(AnypayApiView):
    """`GET /anypay/invoices/:uid` shows any invoice to anyone with its uid; `DELETE` cancels an unpaid one."""

    required_scopes = {"DELETE": scopes.INVOICE_CREATE}

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    def perform_authentication(self, request):
        # The invoice page is public: credentials sent along with it are not checked.
        if request.method != "GET":
            super().perform_authentication(request)

    def get(self, request, uid):
        invoice = anypay.anypay_invoice_get_for_platform(uid=uid)
        return Response(anypay.show_output(invoice, to_merchant=_is_members(request, invoice)))

    def delete(self, request, uid):
        membership = _merchant_membership(request, write=True)
        return Response(anypay.cancel_output(anypay.anypay_invoice_cancel(merchant_id=membership.merchant_id, uid=uid)))


def _is_members(request, invoice) -> bool:
    """Whether valid credentials of one of the invoice's merchant's members came with this public request."""
    try:
        user = request.user  # authenticates now: the view skipped it, as a bad token must not refuse a public read
    except exceptions.AuthenticationFailed:
        return False
    return user is not None and user.is_authenticated and invoice.merchant_id in merchant_ids_for_user(user=user)


@require_GET
def currency_logo(request: HttpRequest, code: str):
    path = LOGOS / f"{code.lower()}.svg"
    if not code.isalnum() or not path.is_file():
        raise Http404("no logo for this currency")
    response = FileResponse(path.open("rb"), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# The payment protocol: public, JSON bodies under the protocols' own content types.


def _refused(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise paypro.PaymentRefused("the body must be JSON") from None
    if not isinstance(body, dict):
        raise paypro.PaymentRefused("the body must be a JSON object")
    return body


def _transaction_hex(body: dict) -> object:
    transactions = body.get("transactions")
    if not isinstance(transactions, list) or len(transactions) != 1:
        raise paypro.PaymentRefused("transactions must hold exactly one transaction")
    item = transactions[0]
    return item.get("tx") if isinstance(item, dict) else item


@csrf_exempt
@require_http_methods(["GET", "POST"])
def payment_request(request: HttpRequest, uid: str) -> JsonResponse:
    """`/anypay/r/:uid`: the protocol is chosen by `Accept` (GET) and `Content-Type` or `x-content-type` (POST)."""
    try:
        invoice = anypay.anypay_invoice_get_for_platform(uid=uid)
    except Http404 as exc:
        return _refused(str(exc), status=404)
    try:
        if request.method == "GET":
            return _payment_request_get(request, invoice)
        return _payment_request_post(request, invoice)
    except paypro.PaymentRefused as exc:
        return _refused(exc.message)


def _payment_request_get(request: HttpRequest, invoice) -> JsonResponse:
    accept = request.headers.get("Accept", "").lower()
    paypro.invoice_payable_check(invoice)
    if "payment-options" in accept:
        return JsonResponse(paypro.payment_options(invoice))
    if accept.endswith("paymentrequest") and not accept.endswith("bitcoinsv-paymentrequest"):
        return _refused("BIP70 is not offered: ask for application/payment-options (JSON Payment Protocol v2) "
                        "or application/bitcoinsv-paymentrequest (BIP270)", status=406)
    option = paypro.option_for(invoice, chain="BSV", currency="BSV")
    return JsonResponse(paypro.bip270_payment_request(invoice, option))


def _payment_request_post(request: HttpRequest, invoice) -> JsonResponse:
    kind = (request.headers.get("x-content-type") or request.content_type or "").split(";")[0].strip().lower()
    if kind not in PAYPRO_CONTENT_TYPES:
        return _refused(f"Content-Type must be one of {', '.join(PAYPRO_CONTENT_TYPES)}", status=415)
    version = request.headers.get("x-paypro-version")
    if version is not None and version.strip() != "2":
        raise paypro.PaymentRefused("x-paypro-version must be 2")
    body = _json_body(request)
    chain, currency = body.get("chain"), body.get("currency")
    if kind == "application/payment-request":
        paypro.invoice_payable_check(invoice)
        return JsonResponse(paypro.payment_request(invoice, paypro.option_for(invoice, chain=chain, currency=currency)))
    payment = {"chain": chain, "currency": currency, "transactions": body.get("transactions")}
    if kind == "application/payment-verification":
        paypro.payment_verify(uid=invoice.uid, chain=chain, currency=currency, transaction_hex=_transaction_hex(body))
        return JsonResponse({"payment": payment, "memo": "Un-Signed Transaction Validated with Success"})
    paypro.payment_submit(uid=invoice.uid, chain=chain, currency=currency, transaction_hex=_transaction_hex(body))
    return JsonResponse({"payment": payment, "memo": "Transactions accepted and broadcast to the network"})


@csrf_exempt
@require_http_methods(["POST"])
def bip270_payment(request: HttpRequest, uid: str) -> JsonResponse:
    """`POST /anypay/r/:uid/pay/BSV/bip270`: a BIP270 Payment; the answer is its PaymentACK."""
    try:
        body = _json_body(request)
    except paypro.PaymentRefused as exc:
        return JsonResponse({"payment": None, "memo": exc.message, "error": 1}, status=400)
    try:
        paypro.payment_submit(uid=uid, chain="BSV", currency="BSV", transaction_hex=body.get("transaction"))
    except paypro.PaymentRefused as exc:
        return JsonResponse({"payment": body, "memo": exc.message, "error": 1}, status=400)
    return JsonResponse({"payment": body, "memo": "Payment accepted and broadcast to the network", "error": 0})
