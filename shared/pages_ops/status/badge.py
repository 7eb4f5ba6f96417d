"""An SVG status badge in the common two-part style (`label | status`), for READMEs and dashboards.

Text widths are estimated from per-character widths of 11 px Verdana, the font such badges are drawn with,
so the badge needs no font metrics at run time. Every text goes through `html.escape`, whose entities are
valid XML, after `display.clean_text` removed the control characters XML 1.0 forbids.
"""

from __future__ import annotations

from html import escape
from typing import Final

from pages_ops.status import display

HEIGHT: Final = 20
PADDING: Final = 6
MAX_LABEL_CHARS: Final = 40
# Badge colours by status; the text also names the status, so colour is never the only signal.
COLOURS: Final = {
    "success": "#2e7d32",
    "failure": "#c62828",
    "building": "#b26a00",
    "queued": "#b26a00",
    "canceled": "#616161",
    "skipped": "#616161",
    "unknown": "#616161",
    "none": "#616161",
    "not found": "#616161",
    "unavailable": "#616161",
}
_NARROW: Final = frozenset("fijlrtI!|.,:;'()[] ")
_WIDE: Final = frozenset("mwMW@%")
_CAPITAL_WIDTH: Final = 7.5


def text_width(text: str) -> float:
    """Estimated width in pixels of `text` in 11 px Verdana."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 10.7
        elif char.isupper() or char.isdigit():
            width += _CAPITAL_WIDTH
        else:
            width += 6.8
    return width


def render_badge(label: str, status: str) -> str:
    """Render an SVG badge reading `label | message`, coloured by `status` (`Deployment.status` or `none`)."""
    message = display.status_label(status).lower() if status in display.STATUS_LABELS else status
    return _svg(label, message, COLOURS.get(status, COLOURS["unknown"]))


def _svg(label: str, message: str, colour: str) -> str:
    label_text = display.clean_text(label, max_chars=MAX_LABEL_CHARS)
    message_text = display.clean_text(message, max_chars=MAX_LABEL_CHARS)
    label_width = round(text_width(label_text) + 2 * PADDING)
    message_width = round(text_width(message_text) + 2 * PADDING)
    width = label_width + message_width
    title = escape(f"{label_text}: {message_text}", quote=True)
    label_x = label_width / 2
    message_x = label_width + message_width / 2
    label_escaped = escape(label_text, quote=True)
    message_escaped = escape(message_text, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="shine" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="round"><rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#round)">'
        f'<rect width="{label_width}" height="{HEIGHT}" fill="#555"/>'
        f'<rect x="{label_width}" width="{message_width}" height="{HEIGHT}" fill="{colour}"/>'
        f'<rect width="{width}" height="{HEIGHT}" fill="url(#shine)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{label_x:g}" y="15" fill="#010101" fill-opacity=".3">{label_escaped}</text>'
        f'<text x="{label_x:g}" y="14">{label_escaped}</text>'
        f'<text x="{message_x:g}" y="15" fill="#010101" fill-opacity=".3">{message_escaped}</text>'
        f'<text x="{message_x:g}" y="14">{message_escaped}</text>'
        "</g></svg>"
    )
