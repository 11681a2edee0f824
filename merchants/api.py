from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.formats import iso_ms
from merchants import scopes
from merchants.models import Merchant
from merchants.permissions import TokenHasAnyScope
from merchants.selectors import membership_get, primary_merchant_id
from merchants.services import merchant_update


class MerchantDocument(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    service_fee_rate = serializers.FloatField()
    crypto_payout_split = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_fields(self):
        fields = super().get_fields()
        for name in MerchantApi.MerchantUpdateInput().get_fields():
            fields.setdefault(name, serializers.CharField())
        return fields


def merchant_output(merchant: Merchant) -> dict:
    return {
        "id": str(merchant.id),
        "name": merchant.name,
        "address_1": merchant.address_1,
        "address_2": merchant.address_2,
        "city": merchant.city,
        "region": merchant.region,
        "country_code": merchant.country_code,
        "postal_code": merchant.postal_code,
        "contact_name": merchant.contact_name,
        "contact_email": merchant.contact_email,
        "phone": merchant.phone,
        "website": merchant.website,
        "description": merchant.description,
        "tax_id": merchant.tax_id,
        "logo_url": merchant.logo_url,
        "service_fee_rate": float(merchant.service_fee_rate),
        "crypto_payout_split": merchant.crypto_payout_split,
        "callback_url": merchant.callback_url,
        "redirect_url": merchant.redirect_url,
        "created_at": iso_ms(merchant.created_at),
        "updated_at": iso_ms(merchant.updated_at),
    }


class UserApi(APIView):
    permission_classes = [TokenHasAnyScope]
    required_scopes = {"GET": scopes.USER_READ}

    @extend_schema(
        operation_id="user_get",
        responses=inline_serializer("User", {
            "id": serializers.UUIDField(), "email": serializers.EmailField(), "first_name": serializers.CharField(),
            "last_name": serializers.CharField(), "created_at": serializers.DateTimeField(),
            "updated_at": serializers.DateTimeField(), "image_url": serializers.CharField(),
            "crm_ref": serializers.CharField(), "confirmed": serializers.BooleanField(),
            "roles": serializers.ListField(child=serializers.CharField()),
            "merchant_id": serializers.UUIDField(allow_null=True),
        }),
    )
    def get(self, request):
        user = request.user
        merchant_id = primary_merchant_id(user=user)
        return Response(
            {
                "id": str(user.id),
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "created_at": iso_ms(user.date_joined),
                "updated_at": iso_ms(user.updated_at),
                "image_url": "",
                "crm_ref": "",
                "confirmed": user.is_active,
                "roles": list(user.memberships.values_list("role", flat=True)),
                "merchant_id": str(merchant_id) if merchant_id else None,
            }
        )


class MerchantApi(APIView):
    permission_classes = [TokenHasAnyScope]
    required_scopes = {
        "GET": scopes.MERCHANT_READ,
        "PATCH": scopes.MERCHANT_WRITE,
        "PUT": scopes.MERCHANT_WRITE,
    }

    class MerchantUpdateInput(serializers.Serializer):
        name = serializers.CharField(max_length=255)
        address_1 = serializers.CharField(max_length=255, allow_blank=True)
        address_2 = serializers.CharField(max_length=255, allow_blank=True)
        city = serializers.CharField(max_length=255, allow_blank=True)
        region = serializers.CharField(max_length=255, allow_blank=True)
        country_code = serializers.RegexField(r"^[A-Za-z]{2}$", allow_blank=True, error_messages={"invalid": "must be a two-letter ISO country code"})
        postal_code = serializers.CharField(max_length=32, allow_blank=True)
        contact_name = serializers.CharField(max_length=255, allow_blank=True)
        contact_email = serializers.EmailField(allow_blank=True)
        phone = serializers.CharField(max_length=64, allow_blank=True)
        website = serializers.URLField(allow_blank=True)
        description = serializers.CharField(allow_blank=True)
        tax_id = serializers.CharField(max_length=64, allow_blank=True)
        logo_url = serializers.URLField(allow_blank=True)
        callback_url = serializers.URLField(max_length=2000, allow_blank=True)
        redirect_url = serializers.URLField(max_length=2000, allow_blank=True)

    @extend_schema(operation_id="merchant_get", responses=MerchantDocument)
    def get(self, request, merchant_id):
        merchant = membership_get(user=request.user, merchant_id=merchant_id).merchant
        return Response(merchant_output(merchant))

    @extend_schema(operation_id="merchant_update", request=MerchantUpdateInput, responses=MerchantDocument)
    def patch(self, request, merchant_id):
        membership = membership_get(user=request.user, merchant_id=merchant_id)
        if not membership.can_write:
            self.permission_denied(request, message="your role at this merchant may not change it")
        body = self.MerchantUpdateInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        merchant = merchant_update(merchant=membership.merchant, fields=body.validated_data)
        return Response(merchant_output(merchant))

    # Clients of GoCoin's Java library update with PUT and send only what changed.
    @extend_schema(operation_id="merchant_replace", request=MerchantUpdateInput, responses=MerchantDocument)
    def put(self, request, merchant_id):
        return self.patch(request, merchant_id)
