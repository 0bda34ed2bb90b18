"""Reports: the PDF incident report rendered from the action log, and reading a PDF's text back."""

from reports.incident_report import RenderedReport, render_incident_report
from reports.pdf_file import extract_text

__all__ = [
    "RenderedReport",
    "extract_text",
    "render_incident_report",
]
