"""Report sections -> text table, CSV, JSON or a self-contained HTML page (inline SVG, print CSS)."""

from __future__ import annotations

import csv
import io
import json
from html import escape

from agent import __version__
from agent.report import svg
from agent.report.sections import Cell, Section
from agent.views.terminal import printable


def cell(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if 0 < abs(value) < 1:
            return f"{value:.3g}"            # small figures keep three significant digits
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value)


def as_table(sections: list[Section]) -> str:
    out: list[str] = []
    for section in sections:
        out += [section.title, "=" * len(section.title), *section.text]
        for table in section.tables:
            rows = [table.headers, *[[printable(cell(c)) for c in row] for row in table.rows]]
            widths = [min(48, max(len(str(r[i])) for r in rows)) for i in range(len(table.headers))]
            for n, row in enumerate(rows):
                out.append("  ".join(str(c)[:48].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
                if n == 0:
                    out.append("  ".join("-" * w for w in widths))
        out.append("")
    return "\n".join(out)


def as_csv(sections: list[Section]) -> str:
    """One CSV: every table, its header row first, each row prefixed with the section id."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for section in sections:
        for table in section.tables:
            writer.writerow(["section", *table.headers])
            writer.writerows([[section.id, *("" if c is None else c for c in row)] for row in table.rows])
    return buffer.getvalue()


def as_json(sections: list[Section], meta: dict[str, object]) -> str:
    return json.dumps({"report": meta, "sections": {
        s.id: {"title": s.title, "text": s.text, "data": s.data,
               "tables": [{"headers": t.headers, "rows": t.rows} for t in s.tables]} for s in sections}},
        indent=2, default=str)


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 2em auto;
       max-width: 1000px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #1f6f78; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .85em; width: 100%; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #eef4f4; }
.chart { max-width: 100%; height: auto; display: block; margin: .8em 0; }
.meta { color: #555; font-size: .9em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  section { break-inside: avoid-page; } h2 { break-after: avoid; } table, .chart { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { size: A4; margin: 15mm; }
}
"""


def as_html(sections: list[Section], meta: dict[str, object]) -> str:
    body = [f"<h1>netwatt emissions report</h1><p class=\"meta\">{escape(str(meta.get('from')))} to "
            f"{escape(str(meta.get('to')))} by {escape(str(meta.get('by')))} &middot; netwatt {__version__}</p>"]
    for section in sections:
        body.append(f'<section id="{escape(section.id)}"><h2>{escape(section.title)}</h2>')
        body += [f"<p>{escape(line)}</p>" for line in section.text]
        body += [svg.render(chart) for chart in section.charts]
        for table in section.tables:
            head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
            rows = "".join("<tr>" + "".join(
                f'<td class="num">{escape(cell(c))}</td>' if isinstance(c, int | float)
                else f"<td>{escape(cell(c))}</td>" for c in row) + "</tr>" for row in table.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>netwatt emissions report</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
