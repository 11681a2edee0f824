"""The platform's URLs plus `POST /bench/baseline`, which exists only under bench.settings."""

from django.urls import path

from bench.views import BaselineApi
from config.urls import urlpatterns as platform_urlpatterns

urlpatterns = [
    *platform_urlpatterns,
    path("bench/baseline", BaselineApi.as_view(), name="bench-baseline"),
]
