"""The model report a validator signs: one self-contained HTML document (and its PDF) per model version.

Sections: purpose and scope, data, features, method, out-of-time performance, stability, fairness, comparison
with the champion at the time, limitations. Every figure is read from the version's registry row
(`model_versions.params` / `.metrics`), the nightly runs in `batch_runs`, the promotions and the bank's data;
printed figures carry `data-figure` naming their source (see report/html.py). Nothing here computes a model
metric: what training did not record is said to be missing.

Modules: `figures` (titles, colours, tagged registry figures), `history` (champion periods, runs), `about`
(sections 1-4), `performance` (5), `stability` (6), `fairness` (7), `comparison` (8 and 9), `document` (the whole).
"""

from predelinquency.report.model.document import model_report_html, model_report_pdf
from predelinquency.report.model.figures import SECTIONS

__all__ = ["SECTIONS", "model_report_html", "model_report_pdf"]
