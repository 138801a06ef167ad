"""What the facilitator prints: station labels (PDF) and the recap with the tokens (CSV, PDF).

Labels are public (stuck on the box): station id, place name, a QR code to the station page
and the Wi-Fi set-up steps. They never carry the token. The recap carries the tokens, shown
this once: it is written with owner-only permissions.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_tools.i18n import t
from firmware_tools.roster import Registered

if TYPE_CHECKING:  # reportlab is imported where a PDF is written
    from reportlab.pdfgen.canvas import Canvas

__all__ = ["RECAP_COLUMNS", "write_labels_pdf", "write_recap_csv", "write_recap_pdf"]

RECAP_COLUMNS = (
    "id",
    "nom",
    "lat",
    "lon",
    "emplacement",
    "position_exacte",
    "capteurs",
    "participant",
    "contact",
    "adresse",
    "jeton",
    "page",
)


def _private_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _placement(indoor: bool) -> str:
    return t("indoor") if indoor else t("outdoor")


def write_recap_csv(path: Path, registered: Sequence[Registered], urls: dict[str, str]) -> None:
    """One line per created station, ``;``-separated UTF-8 with BOM (opens in Excel)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(RECAP_COLUMNS)
    for r in registered:
        s = r.station
        w.writerow(
            [
                s.id,
                s.name,
                f"{s.lat}",
                f"{s.lon}",
                _placement(s.indoor),
                t("yes") if s.exact else t("no"),
                " ".join(s.sensors),
                s.participant,
                s.contact,
                s.address,
                r.token,
                urls[s.id],
            ]
        )
    fd = _private_file(path)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
        f.write(buf.getvalue())


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """A vector QR code (error correction M) with its quiet zone, lower-left corner at x, y."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    rows = [tuple(row) for row in qr.matrix_iter(border=2)]
    module = size / len(rows)
    canvas.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        top = y + size - (r + 1) * module
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                canvas.rect(x + start * module, top, (c - start) * module, module, 0, 1)
            else:
                c += 1


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _fit_steps(steps: Sequence[str], width: float, height: float) -> tuple[float, list[list[str]]]:
    """The largest font size (8 pt down to 5.5 pt) at which the wrapped steps fit the space."""
    size = 8.0
    while True:
        wrapped = [_wrap(step, "Helvetica", size, width) for step in steps]
        if sum(len(lines) for lines in wrapped) * (size + 1.5) <= height or size <= 5.5:
            return size, wrapped
        size -= 0.5


def label_steps(platform: str) -> list[str]:
    """The set-up steps printed on every label (reader's language)."""
    from firmware_tools.airrohr import SETUP_WIFI_PASSWORD

    return [
        t(f"label_step{i}", platform=platform, password=SETUP_WIFI_PASSWORD) for i in range(1, 7)
    ]


def write_labels_pdf(
    path: Path, registered: Sequence[Registered], urls: dict[str, str], platform: str
) -> None:
    """A4 sheets of 6 labels (2 × 3, 105 × 99 mm): cut along the grey lines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    page_w, page_h = A4
    cols, rows = 2, 3
    w, h = page_w / cols, page_h / rows
    pad = 6 * mm
    c = Canvas(str(path), pagesize=A4)
    c.setTitle(t("labels_title"))
    c.setAuthor("AirQuartiers")
    steps = label_steps(platform)
    for i, r in enumerate(registered):
        if i and i % (cols * rows) == 0:
            c.showPage()
        col, row = i % cols, (i // cols) % rows
        x0, y0 = col * w, page_h - (row + 1) * h
        c.setStrokeColorRGB(0.75, 0.75, 0.75)
        c.setLineWidth(0.3)
        c.rect(x0, y0, w, h, 1, 0)
        s = r.station
        top = y0 + h - pad
        c.setFillColorRGB(0, 0, 0)
        c.setFont("Helvetica-Bold", 20)
        c.drawString(x0 + pad, top - 16, s.id)
        c.setFont("Helvetica", 10)
        c.drawString(x0 + pad, top - 30, (s.name or "")[:48])
        c.setFont("Helvetica-Oblique", 9)
        c.drawString(x0 + pad, top - 42, _placement(s.indoor))
        qr = 34 * mm
        _draw_qr(c, urls[s.id], x0 + w - pad - qr, top - qr, qr)
        c.setFont("Helvetica", 6.5)
        url_lines = _wrap(urls[s.id].replace("/", "/ "), "Helvetica", 6.5, qr)
        for k, line in enumerate(url_lines[:2]):
            c.drawString(x0 + w - pad - qr, top - qr - 8 - 7 * k, line.replace("/ ", "/"))
        c.setFont("Helvetica-Bold", 9)
        y = top - qr - 28
        c.drawString(x0 + pad, y, t("label_setup"))
        y -= 11
        size, wrapped = _fit_steps(steps, w - 2 * pad - 10, y - (y0 + pad))
        c.setFont("Helvetica", size)
        for n, lines in enumerate(wrapped, 1):
            for k, line in enumerate(lines):
                if k == 0:
                    c.drawString(x0 + pad, y, f"{n}.")
                c.drawString(x0 + pad + 10, y, line)
                y -= size + 1.5
    c.showPage()
    c.save()


def write_recap_pdf(
    path: Path, registered: Sequence[Registered], urls: dict[str, str], title: str
) -> None:
    """The facilitator's sheet: one row per station with its token. Keep it private."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    mono = styles["Code"].clone("mono", fontSize=7, leading=8.5, leftIndent=0)
    header = [
        t("recap_col_id"),
        t("recap_col_name"),
        t("recap_col_place"),
        t("recap_col_who"),
        t("recap_col_token"),
        t("recap_col_page"),
    ]
    data = [header]
    for r in registered:
        s = r.station
        who = " · ".join(x for x in (s.participant, s.contact, s.address) if x)
        data.append(
            [
                Paragraph(s.id, small),
                Paragraph(s.name or "", small),
                Paragraph(f"{_placement(s.indoor)}<br/>{s.lat}, {s.lon}", small),
                Paragraph(who, small),
                Paragraph(r.token, mono),
                Paragraph(urls[s.id], small),
            ]
        )
    fd = _private_file(path)
    os.close(fd)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
        author="AirQuartiers",
    )
    table = Table(
        data, colWidths=[28 * mm, 45 * mm, 35 * mm, 60 * mm, 55 * mm, 50 * mm], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        Paragraph(title, styles["Title"]),
        Paragraph(t("recap_warning"), styles["BodyText"]),
        Spacer(1, 4 * mm),
        table,
    ]
    doc.build(story)


def read_recap(path: Path, station: str) -> tuple[str, tuple[str, ...]]:
    """(token, sensors) of ``station`` from a recap CSV written by :func:`write_recap_csv`.

    Raises WorkshopError when the file or the station is missing.
    """
    from firmware_tools.errors import WorkshopError

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WorkshopError("roster_unreadable", path=path, why=exc.strerror) from None
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        if row.get("id") == station and row.get("jeton"):
            return row["jeton"], tuple((row.get("capteurs") or "").split())
    raise WorkshopError("recap_no_station", station=station, path=path)
