from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider.views import AuthorizationView

from invoices.api import InvoiceApi, InvoiceReviewApi, InvoiceSearchApi, InvoiceTestCallbackApi, MerchantInvoicesApi
from merchants.api import MerchantApi, UserApi
from merchants.oauth_views import GoCoinTokenView
from rates.api import PricesApi

api_v1 = [
    path("oauth/token", GoCoinTokenView.as_view(), name="oauth-token"),
    path("oauth/authorize", AuthorizationView.as_view(), name="oauth-authorize"),
    path("user", UserApi.as_view(), name="user"),
    path("merchants/<str:merchant_id>", MerchantApi.as_view(), name="merchant"),
    path("merchants/<str:merchant_id>/invoices", MerchantInvoicesApi.as_view(), name="merchant-invoices"),
    path("invoices/search", InvoiceSearchApi.as_view(), name="invoice-search"),
    path("invoices/<str:invoice_id>", InvoiceApi.as_view(), name="invoice"),
    path("invoices/<str:invoice_id>/accept", InvoiceReviewApi.as_view(action="accept"), name="invoice-accept"),
    path("invoices/<str:invoice_id>/cancel", InvoiceReviewApi.as_view(action="cancel"), name="invoice-cancel"),
    path(
        "invoices/<str:invoice_id>/refresh_merchant_review_spot_rate",
        InvoiceReviewApi.as_view(action="refresh"),
        name="invoice-review-rate",
    ),
    path("invoices/<str:invoice_id>/test_callback", InvoiceTestCallbackApi.as_view(), name="invoice-test-callback"),
    path("prices", PricesApi.as_view(), name="prices"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("auth", AuthorizationView.as_view(), name="oauth-authorize-dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("gateway/", include("invoices.gateway_urls")),
    path("anypay/", include("invoices.anypay_urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
