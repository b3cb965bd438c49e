"""The HTML training report: data, per-class metrics and confusion-matrix plots per evaluation set."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent / "templates"


def confusion_png(title: str, labels: list, matrix: list[list[int]]) -> str:
    """A confusion matrix (counted by sklearn.metrics.confusion_matrix in the metrics) drawn by
    scikit-learn's ConfusionMatrixDisplay, as a base64 PNG (rows: gold, columns: predicted), so the
    HTML stays one self-contained file."""
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.1 * n + 1.8, 1.0 * n + 1.4), dpi=110)
    counts = np.asarray(matrix)
    display = ConfusionMatrixDisplay(counts, display_labels=[str(x) for x in labels])
    display.plot(ax=ax, cmap="Blues", colorbar=False, xticks_rotation=35, text_kw={"fontsize": 9})
    if counts.min() == counts.max():  # sklearn colours equal counts like the lightest cell: unreadable
        for text in display.text_.ravel():
            text.set_color("black")
    plt.setp(ax.get_xticklabels(), ha="right")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_report(path: Path, manifest: dict) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    plots = {}
    for set_name, m in manifest["metrics"].items():
        if "role" not in m:
            continue
        plots[set_name] = {
            head: confusion_png(f"{head} — {set_name}", m[head]["confusion"]["labels"], m[head]["confusion"]["matrix"])
            for head in ("role", "urgency", "minor")
        }
    html = env.get_template("report.html.j2").render(m=manifest, plots=plots)
    path.write_text(html, encoding="utf-8")
