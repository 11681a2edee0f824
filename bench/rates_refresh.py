"""One spot-rate refresh with every live provider slowed to 200 ms per request, beside the same providers fetched
one after another.

    .venv/bin/python bench/rates_refresh.py [--delay-ms 200] [--runs 5]

The six providers (Coinbase, Kraken, Bitstamp, Bitfinex, CoinGecko, ECB) answer from their recorded real-format
responses (tests/rates/recordings/) on a 127.0.0.1 HTTP server that sleeps --delay-ms before each answer. The
refresh is the real rates.services.spot_rates_refresh() (fetch, aggregate, store in a throwaway SQLite database).
The baseline, measured in the same run against the same server, calls each provider's fetch() in turn. The refresh
should take about one delay, not the sum: the printed ratio is refresh / sequential.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rates.recorded_server import PROVIDERS, RecordedProviders  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    server = RecordedProviders(delay_seconds=args.delay_ms / 1000)
    workdir = tempfile.mkdtemp(prefix="bench-rates-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PLATFORM_VAR_DIR=workdir,
        DATABASE_URL=f"sqlite:///{workdir}/db.sqlite3",
        RATES_PROVIDERS=",".join(PROVIDERS.values()),
        RATES_PROVIDER_URLS=",".join(f"{name}={url}" for name, url in server.urls().items()),
        LOG_LEVEL="ERROR",
    )
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.core.management import call_command

    from rates.providers import providers_load
    from rates.services import spot_rates_refresh

    call_command("migrate", verbosity=0)
    providers = providers_load()

    def refresh() -> float:
        started = time.perf_counter()
        written = spot_rates_refresh()
        elapsed = time.perf_counter() - started
        if written < 100:
            sys.exit(f"the refresh stored only {written} rates: a provider failed")
        return elapsed

    def sequential() -> float:
        started = time.perf_counter()
        for provider in providers:
            provider.fetch()
        return time.perf_counter() - started

    refresh(), sequential()  # warm-up: imports, pooled connections, SQLite pages
    refreshes = [refresh() for _ in range(args.runs)]
    baselines = [sequential() for _ in range(args.runs)]
    server.close()
    shutil.rmtree(workdir, ignore_errors=True)

    refresh_ms = statistics.median(refreshes) * 1000
    baseline_ms = statistics.median(baselines) * 1000
    print(f"providers: {len(providers)} ({', '.join(PROVIDERS)}), each request delayed {args.delay_ms} ms, {args.runs} runs")
    print(f"one refresh (concurrent fetch + aggregate + store): median {refresh_ms:.0f} ms "
          f"(min {min(refreshes) * 1000:.0f}, max {max(refreshes) * 1000:.0f})")
    print(f"baseline, the same providers fetched one after another: median {baseline_ms:.0f} ms "
          f"(min {min(baselines) * 1000:.0f}, max {max(baselines) * 1000:.0f})")
    print(f"ratio refresh / sequential: {refresh_ms / baseline_ms:.2f}")
    print("re-run: .venv/bin/python bench/rates_refresh.py")


if __name__ == "__main__":
    main()
