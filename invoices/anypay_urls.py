from django.urls import path

from invoices import anypay_api

app_name = "anypay"
urlpatterns = [
    path("invoices", anypay_api.InvoicesApi.as_view(), name="invoices"),
    path("invoices/<str:uid>", anypay_api.InvoiceApi.as_view(), name="invoice"),
    path("logos/<str:code>.svg", anypay_api.currency_logo, name="logo"),
    path("r/<str:uid>", anypay_api.payment_request, name="payment-request"),
    path("i/<str:uid>", anypay_api.payment_request, name="payment-request-alias"),
    path("r/<str:uid>/pay/BSV/bip270", anypay_api.bip270_payment, name="bip270-payment"),
]
