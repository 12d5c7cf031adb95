"""The receipt of an accepted declaration, as a PDF (fpdf2, core Helvetica font: no font file to
ship). Core fonts only know Latin-1: other characters are written without their accents, or as
"?" when they have no Latin-1 form."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext
from fpdf import FPDF

from comptoir.core.text import latin1
from comptoir.lodging.models import Declaration


def receipt_pdf(*, declaration: Declaration, language: str | None = None) -> bytes:
    """The receipt in `language` (default: the active one)."""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE)[:2]
    with translation.override(language):
        lodged_by = (
            declaration.lodged_by.get_full_name() or declaration.lodged_by.get_username()
            if declaration.lodged_by is not None
            else ""
        )
        rows = [
            (gettext("MRN"), declaration.mrn),
            (gettext("Operator"), declaration.operator.name),
            (gettext("EORI number"), declaration.operator.eori or "-"),
            (gettext("Declaration type"), declaration.declaration_type.label_in(language)),
            (gettext("Channel"), declaration.get_channel_display()),
            (
                gettext("Lodged at"),
                timezone.localtime(declaration.lodged_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
            ),
            (gettext("Format"), declaration.get_format_display()),
            (gettext("Size"), gettext("%(count)s bytes") % {"count": declaration.payload_size}),
            (gettext("Payload SHA-256"), declaration.payload_sha256),
        ]
        if lodged_by:
            rows.append((gettext("Lodged by"), lodged_by))
        if declaration.client is not None:
            rows.append((gettext("B2G client"), declaration.client.name))
        title = gettext("Declaration receipt")
        administration = str(getattr(settings, "COMPTOIR_ADMINISTRATION_NAME", ""))
        statement = gettext(
            "Customs have received this declaration and issued the reference above. The SHA-256 "
            "digest identifies the file received: any change to the file changes it."
        )

    pdf = FPDF(format="A4")
    # Uncompressed: a receipt is small, and its text stays searchable by simple tools.
    pdf.set_compression(False)
    pdf.set_title(latin1(f"{title} {declaration.mrn}"))
    pdf.set_author(latin1(administration or "Comptoir"))
    pdf.set_creator("Comptoir")
    pdf.set_lang(language)
    pdf.set_creation_date(declaration.lodged_at)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, latin1(administration), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", style="B", size=16)
    pdf.cell(0, 10, declaration.mrn, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for label, value in rows:
        pdf.set_font("Helvetica", style="B", size=10)
        pdf.cell(45, 7, latin1(label))
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 7, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, latin1(statement), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def receipt_filename(declaration: Declaration) -> str:
    return f"receipt-{declaration.mrn}.pdf"
