from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.formats import decimal_plain, iso_ms
from rates.selectors import prices_get


class PricesApi(APIView):
    """GET /api/v1/prices: public spot rates in GoCoin's shape, no token needed.

    {"timestamp": "2013-12-11T11:25:33.043Z", "prices": {"BTC": {"USD": "889.11", "EUR": "647.2"}}}: units of each
    fiat per 1 coin as exact plain decimal strings, every stored digit and at least one after the point ("65000.0").
    `timestamp` is when the oldest of the listed rates was fetched. Only rates fresh enough to price an invoice are
    listed, market rates without any merchant's spread. Caches may keep the answer for one refresh interval.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="prices_get",
        auth=[],
        responses=inline_serializer(
            "Prices",
            {
                "timestamp": serializers.CharField(),
                "prices": serializers.DictField(child=serializers.DictField(child=serializers.CharField())),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        prices = prices_get()
        body = {
            "timestamp": iso_ms(prices.timestamp or timezone.now()),
            "prices": {
                crypto: {fiat: decimal_plain(rate) for fiat, rate in sorted(by_fiat.items())}
                for crypto, by_fiat in sorted(prices.rates.items())
            },
        }
        return Response(body, headers={"Cache-Control": f"public, max-age={settings.RATES_REFRESH_SECONDS}"})
