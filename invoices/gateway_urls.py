from django.urls import path

from invoices import gateway

app_name = "gateway"
urlpatterns = [
    path("invoices/<uuid:invoice_id>", gateway.invoice_page, name="invoice"),
    path("invoices/<uuid:invoice_id>/status", gateway.invoice_status, name="status"),
    path("invoices/<uuid:invoice_id>/qr.svg", gateway.invoice_qr, name="qr"),
    path("invoices/<uuid:invoice_id>/currency", gateway.bill_currency, name="bill-currency"),
    path("invoices/<uuid:invoice_id>/test-wallet/pay", gateway.regtest_wallet_pay, name="regtest-pay"),
    path("invoices/<uuid:invoice_id>/test-wallet/mine", gateway.regtest_block_mine, name="regtest-mine"),
]
