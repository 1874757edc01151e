"""Assemble a self-contained HTML page from plotly figures and small tables."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666} table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;font-size:.9rem} th{background:#f4f4f4}
li{margin:.2rem 0} .bad{color:#a00}
"""


def page(title: str, subtitle: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<section><h2>{html.escape(h)}</h2>{content}</section>" for h, content in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='meta'>{html.escape(subtitle)}</p>{body}</body></html>")


def figure_html(fig: go.Figure, first: bool) -> str:
    """The first figure carries plotly.js inline so the page needs no network."""
    return fig.to_html(full_html=False, include_plotlyjs=bool(first))


def figure_div(fig: go.Figure, div_id: str) -> str:
    """A figure for a page that loads plotly.js itself (the dashboard serves it locally)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"responsive": True, "displaylogo": False})


def bullet_list(items: list[str], css: str = "") -> str:
    if not items:
        return "<p>none</p>"
    return "<ul>" + "".join(f"<li class='{css}'>{html.escape(x)}</li>" for x in items) + "</ul>"


def table_html(df: pd.DataFrame, max_rows: int = 40) -> str:
    if df.empty:
        return "<p>none</p>"
    return df.head(max_rows).to_html(index=False, float_format=lambda x: f"{x:,.3g}", border=0)


def write(path: str | Path, text: str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
