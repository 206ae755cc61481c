"""FDA inspection export: a self-contained record of one patient, as JSON or as one HTML page.

`build_record` gathers the data (history, decisions with rule text and replay, verification,
digest); `render_html` draws the page from that data alone; `rems export` writes either form.
"""

from rems.export.html import render_html
from rems.export.record import build_record

__all__ = ["build_record", "render_html"]
