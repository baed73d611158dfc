"""The simulation report: one self-contained HTML page (inline SVG charts, no external assets) or a PDF.

Both are built from :meth:`Simulation.as_dict`, so the report shows exactly the figures ``--json`` prints.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from kruispunt.impact import charts
from kruispunt.impact.simulation import Simulation

TEMPLATES = Path(__file__).parent / "templates"


def write_report(simulation: Simulation, out: Path) -> Path:
    """Write the report to ``out``: ``.html`` or ``.pdf`` after its suffix (written aside, then renamed)."""
    writers = {".html": _html, ".htm": _html, ".pdf": _pdf}
    suffix = out.suffix.lower()
    if suffix not in writers:
        raise ValueError(f"{out}: a report is a .html or a .pdf file")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    writers[suffix](simulation.as_dict(), partial)
    partial.replace(out)
    return out


def money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def signed_money(value: Any) -> str:
    number = Decimal(str(value))
    return ("+" if number > 0 else "") + money(number)


def signed(value: int) -> str:
    return f"{value:+,}"


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def _html(figures: dict[str, Any], out: Path) -> None:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    template = environment.get_template("report.html.j2")
    taken = figures["take_up"]
    page = template.render(
        f=figures,
        b=figures["baseline"],
        t={**taken, "file_name": Path(taken["file"]).name} if taken else None,
        charts=[(title, charts.svg(fig, title)) for title, fig in charts.all_charts(figures)],
        money=money,
        signed=signed,
        signed_money=signed_money,
        percent=percent,
    )
    out.write_text(page, encoding="utf-8")


def _pdf(figures: dict[str, Any], out: Path) -> None:
    with PdfPages(
        out, metadata={"Title": figures["title"]["en"], "Subject": f"impact simulation of {figures['rule']}"}
    ) as pdf:
        pdf.savefig(_summary_page(figures))
        for _, fig in charts.all_charts(figures):
            pdf.savefig(fig)
        pdf.savefig(_tables_page(figures))
    from matplotlib import pyplot as plt

    plt.close("all")


def _summary_page(figures: dict[str, Any]) -> Figure:
    """An A4 page of text: the right, the place, the key figures, take-up, staff time and the legal basis."""
    b, staff, taken = figures["baseline"], figures["staff_time"], figures["take_up"]
    place = figures["municipality"]["name"] if figures["municipality"] else "all municipalities"
    lines = [
        (figures["title"]["en"], 15, "bold"),
        (
            f"{figures['authority']['name']} · {place} · simulated on {figures['date']}, data reference date "
            f"{figures['reference_date']}",
            9,
            "normal",
        ),
        ("", 9, "normal"),
        (
            f"{b['beneficiaries']:,} {figures['beneficiary_entity']}s granted, "
            f"{b['persons']:,} persons reached",
            11,
            "normal",
        ),
        (f"Total cost € {money(b['cost'])}", 11, "bold"),
        (
            f"Staff time saved: {staff['hours']:,} hours = {staff['fte']} FTE "
            f"({staff['manual_files']:,} files × "
            f"{staff['minutes_per_file']} min, {staff['hours_per_fte']:,} h per FTE)",
            9,
            "normal",
        ),
    ]
    if taken:
        lines += [
            (
                f"Non-take-up today: {taken['non_take_up']:,} of {taken['entitled']:,} entitled "
                f"({percent(taken['non_take_up_rate'])}); receiving without entitlement: "
                f"{taken['received_without_entitlement']:,}",
                9,
                "normal",
            ),
            (
                f"Cost today € {money(taken['cost_today'])}, "
                f"automatic € {money(taken['cost_automatic'])}, change € "
                f"{signed_money(taken['cost_change'])}",
                9,
                "normal",
            ),
        ]
    for variant in figures["variants"]:
        d = variant["difference"]
        lines.append(
            (
                f"Variant {variant['name']}: {variant['beneficiaries']:,} {figures['beneficiary_entity']}s "
                f"({signed(d['beneficiaries'])}), € {money(variant['cost'])} ({signed_money(d['cost'])})",
                9,
                "normal",
            )
        )
    lines += [("", 9, "normal"), ("Legal basis", 10, "bold")]
    lines += [(chunk, 8, "normal") for chunk in _wrap(figures["legal_basis"]["reference"], 110)]
    lines.append((figures["legal_basis"]["url"], 8, "normal"))
    if figures["note"]:
        lines += [(chunk, 8, "italic") for chunk in _wrap(figures["note"], 110)]
    fig = Figure(figsize=(8.27, 11.69))
    y = 0.95
    for text, size, weight in lines:
        style = "italic" if weight == "italic" else "normal"
        fig.text(
            0.07, y, text, fontsize=size, fontweight="bold" if weight == "bold" else "normal", fontstyle=style
        )
        y -= 0.012 + size * 0.0022
    return fig


def _tables_page(figures: dict[str, Any]) -> Figure:
    """The breakdowns as tables on one A4 page (the municipality table is cut to the 25 largest)."""
    b = figures["baseline"]
    sections = [
        ("By ground", ["ground", "beneficiaries", "persons", "cost"], b["by_ground"]),
        ("By age band", ["age_band", "persons", "beneficiaries", "cost"], b["by_age_band"]),
        ("By household type", ["household_type", "beneficiaries", "persons", "cost"], b["by_household_type"]),
    ]
    if b.get("by_municipality"):
        largest = sorted(b["by_municipality"], key=lambda r: -r["beneficiaries"])[:25]
        sections.append(
            ("By municipality (25 largest)", ["name", "beneficiaries", "persons", "cost"], largest)
        )
    fig = Figure(figsize=(8.27, 11.69))
    heights = [len(rows) + 2 for _, _, rows in sections]
    top = 0.96
    for (title, columns, rows), height in zip(sections, heights, strict=True):
        share = 0.9 * height / sum(heights)
        ax = fig.add_axes((0.07, top - share, 0.86, share))
        ax.axis("off")
        ax.set_title(title, loc="left", fontsize=10)
        cells = [[str(row[c]) if c != "cost" else money(row[c]) for c in columns] for row in rows] or [
            ["-"] * len(columns)
        ]
        table = ax.table(cellText=cells, colLabels=columns, loc="upper left", cellLoc="right")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        top -= share + 0.01
    return fig


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = " ".join(text.split()).split(" "), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines
