"""Charts drawn on the server as SVG (no JavaScript), for the problem pages and the review.

Every text placed in a chart is escaped; the functions return ``Markup`` ready for a template.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_INK = "#1f3a5f"
_MUTED = "#8a94a6"
_GRID = "#e3e7ee"


def _svg(parts: list[str]) -> Markup:
    """The chart's markup: numbers we formatted and texts that went through ``escape``."""
    return Markup("".join(parts))  # noqa: S704 - every text in ``parts`` is escaped


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(
    counts: Sequence[int], *, width: int = 120, height: int = 28, title: str = ""
) -> Markup:
    """Tiny weekly bars, for a table row."""
    n = max(len(counts), 1)
    top = max(max(counts, default=0), 1)
    step = width / n
    bars = []
    for i, c in enumerate(counts):
        h = (height - 2) * c / top
        bars.append(
            f'<rect x="{_n(i * step + 1)}" y="{_n(height - 1 - h)}" width="{_n(max(step - 2, 1))}"'
            f' height="{_n(max(h, 0.5 if c else 0))}" fill="{_INK}"/>'
        )
    return _svg(
        [
            f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
            f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}"'
            f' stroke="{_GRID}"/>',
            *bars,
            "</svg>",
        ]
    )


def column_chart(
    points: Sequence[tuple[str, int]], *, title: str, width: int = 640, height: int = 220
) -> Markup:
    """Columns with their value above and their label below (weeks, months)."""
    left, bottom, top_pad = 8, 34, 18
    n = max(len(points), 1)
    top = max(max((v for _, v in points), default=0), 1)
    step = (width - left * 2) / n
    plot_h = height - bottom - top_pad
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}"'
        f' stroke="{_GRID}"/>',
    ]
    every = max(1, n // 12)
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = left + i * step
        parts.append(
            f'<rect x="{_n(x + step * 0.15)}" y="{_n(height - bottom - h)}"'
            f' width="{_n(step * 0.7)}" height="{_n(h)}" fill="{_INK}"/>'
        )
        if value:
            parts.append(
                f'<text x="{_n(x + step / 2)}" y="{_n(height - bottom - h - 4)}" font-size="11"'
                f' text-anchor="middle" fill="{_INK}">{value}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{_n(x + step / 2)}" y="{height - bottom + 16}" font-size="10"'
                f' text-anchor="middle" fill="{_MUTED}">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return _svg(parts)


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    value_format: str = "{:g}",
    label_chars: int = 48,
) -> Markup:
    """Horizontal bars, one row per item (top problems, verdicts)."""
    row_h, label_w, pad = 24, 300, 6
    height = max(len(rows), 1) * row_h + pad * 2
    top = max(max((v for _, v in rows), default=0.0), 1e-9)
    bar_w = width - label_w - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = pad + i * row_h
        short = label if len(label) <= label_chars else label[: label_chars - 1] + "…"
        w = bar_w * value / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" font-size="12" text-anchor="end"'
            f' fill="{_INK}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{_n(max(w, 0))}" height="{row_h - 8}"'
            f' fill="{_INK}"/>'
            f'<text x="{_n(label_w + w + 6)}" y="{y + 16}" font-size="12"'
            f' fill="{_INK}">{escape(value_format.format(value))}</text>'
        )
    parts.append("</svg>")
    return _svg(parts)
