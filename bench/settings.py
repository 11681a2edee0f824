"""Settings for benchmarks: the platform's settings plus the bench-only baseline URL."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.urls"
