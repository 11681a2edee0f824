"""The merchant admin's reports: a dashboard of the last 30 days and the invoice export to CSV."""

import csv
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from chain.currencies import coin_get
from invoices.models import Invoice, Status
from invoices.selectors import (
    SALES_POINT_FIELDS,
    DailyVolume,
    SalesPointTotal,
    amount_paid,
    invoice_status_counts,
    invoice_totals_by,
    invoices_with_detail,
    payment_volume_by_day,
)
from rates.fiat import fiat_get

DASHBOARD_DAYS = 30
EXPORT_CHUNK = 500
CHART_WIDTH, CHART_HEIGHT = 640, 200
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 96, 12, 14, 30


@dataclass(frozen=True)
class CurrencyVolume:
    currency: str
    name: str
    total: Decimal
    payments: int
    chart: SafeString


def dashboard_view(request: HttpRequest, *, merchant_ids: list[uuid.UUID], context: dict) -> TemplateResponse:
    today = timezone.localdate()
    first_day = today - timedelta(days=DASHBOARD_DAYS - 1)
    since = timezone.make_aware(datetime.combine(first_day, time.min))
    by_currency: dict[str, list[DailyVolume]] = {}
    for volume in payment_volume_by_day(merchant_ids=merchant_ids, since=since):
        by_currency.setdefault(volume.currency, []).append(volume)
    days = [first_day + timedelta(days=offset) for offset in range(DASHBOARD_DAYS)]
    volumes = [
        _currency_volume(currency, by_currency[currency], days)
        for currency in sorted(by_currency, key=lambda code: coin_get(code).sort_order)
    ]
    counts = invoice_status_counts(merchant_ids=merchant_ids, since=since)
    sales_points = [
        (field.removesuffix("_id").capitalize(), rows)
        for field in SALES_POINT_FIELDS
        if (rows := [_in_fiat_precision(row) for row in invoice_totals_by(merchant_ids=merchant_ids, field=field, since=since)
                     if row.value is not None])
    ]
    return TemplateResponse(request, "admin/invoices/dashboard.html", {
        **context,
        "title": f"Payments received, last {DASHBOARD_DAYS} days",
        "first_day": first_day,
        "today": today,
        "volumes": volumes,
        "status_counts": [(status.label, counts.get(status.value, 0)) for status in Status if counts.get(status.value)],
        "invoice_total": sum(counts.values()),
        "sales_points": sales_points,
    })


def _in_fiat_precision(row: SalesPointTotal) -> SalesPointTotal:
    exponent = Decimal(1).scaleb(-fiat_get(row.currency).precision)
    return replace(row, amount=row.amount.quantize(exponent), paid_amount=row.paid_amount.quantize(exponent))


def _currency_volume(currency: str, volumes: list[DailyVolume], days: list[date]) -> CurrencyVolume:
    coin = coin_get(currency)
    per_day = {volume.day: volume.received for volume in volumes}
    total = sum(volume.received for volume in volumes)
    return CurrencyVolume(
        currency=coin.code,
        name=coin.name,
        total=coin.to_decimal(total),
        payments=sum(volume.payments for volume in volumes),
        chart=bar_chart_svg(
            [(day, per_day.get(day, 0)) for day in days], unit=coin.code, format_amount=coin.format,
            label=f"{coin.name} received per day",
        ),
    )


def bar_chart_svg(points: list[tuple[date, int]], *, unit: str, format_amount, label: str) -> SafeString:
    """A bar per day as inline SVG: drawn on the server, so the page needs no script and makes no request."""
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    baseline = PLOT_TOP + plot_height
    highest = max((amount for _day, amount in points), default=0)
    scale = highest or 1
    slot = plot_width / len(points)

    def bar(index: int, day: date, amount: int) -> tuple:
        height = plot_height * amount / scale
        return (
            f"{PLOT_LEFT + index * slot + slot * 0.15:.1f}", f"{baseline - height:.1f}", f"{slot * 0.7:.1f}",
            f"{height:.1f}", day.isoformat(), format_amount(amount), unit,
        )

    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}: {} {}</title></rect>',
        (bar(index, day, amount) for index, (day, amount) in enumerate(points)),
    )
    day_labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (f"{PLOT_LEFT + index * slot + slot / 2:.1f}", CHART_HEIGHT - 10, points[index][0].strftime("%d %b"))
            for index in (0, len(points) // 2, len(points) - 1)
        ),
    )
    return format_html(
        '<svg class="volume-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<g class="axis"><line x1="{}" y1="{}" x2="{}" y2="{}"/><line x1="{}" y1="{}" x2="{}" y2="{}"/></g>'
        '<g class="labels"><text x="{}" y="{}" text-anchor="end">{} {}</text>'
        '<text x="{}" y="{}" text-anchor="end">0</text>{}</g>'
        '<g class="bars">{}</g></svg>',
        CHART_WIDTH, CHART_HEIGHT, label,
        PLOT_LEFT, PLOT_TOP, PLOT_LEFT, baseline, PLOT_LEFT, baseline, CHART_WIDTH - PLOT_RIGHT, baseline,
        PLOT_LEFT - 6, PLOT_TOP + 4, format_amount(highest), unit,
        PLOT_LEFT - 6, baseline, day_labels,
        bars,
    )


EXPORT_COLUMNS = [
    "id", "uid", "merchant", "status", "type", "created_at", "base_price", "base_price_currency",
    "price", "price_currency", "amount_paid", "order_id", "item_name", "customer_email",
]


def invoices_csv_response(invoices: Iterable[Invoice], *, filename: str) -> StreamingHttpResponse:
    """The invoices as CSV, streamed in chunks; amounts are exact decimals in the currency's own precision."""
    writer = csv.writer(_Echo())
    rows = (writer.writerow(row) for row in _export_rows(invoices))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_rows(invoices: Iterable[Invoice]) -> Iterator[list[str]]:
    yield EXPORT_COLUMNS
    chunk: list[Invoice] = []
    for invoice in invoices:
        chunk.append(invoice)
        if len(chunk) == EXPORT_CHUNK:
            yield from (_export_row(row) for row in invoices_with_detail(chunk))
            chunk = []
    yield from (_export_row(row) for row in invoices_with_detail(chunk))


def _export_row(invoice: Invoice) -> list[str]:
    fiat = fiat_get(invoice.base_price_currency)
    coin = coin_get(invoice.price_currency) if invoice.price_currency else None
    return [
        str(invoice.id),
        invoice.uid,
        _cell(invoice.merchant.name),
        invoice.status,
        invoice.type,
        invoice.created_at.isoformat(),
        format(invoice.base_price.quantize(Decimal(1).scaleb(-fiat.precision)), "f"),
        fiat.code,
        coin.format(invoice.price_base_units) if coin and invoice.price_base_units is not None else "",
        coin.code if coin else "",
        coin.format(amount_paid(invoice)) if coin else "",
        _cell(invoice.order_id),
        _cell(invoice.item_name),
        _cell(invoice.customer_email),
    ]


def _cell(text: str | None) -> str:
    # A spreadsheet runs a cell that starts like a formula; text from API clients must stay text.
    text = text or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
