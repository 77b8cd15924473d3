"""Section 7 of the model report: the fairness figures training recorded on the out-of-time test."""

from __future__ import annotations

from typing import Any

from predelinquency.report import html as H
from predelinquency.report.model.figures import SECTIONS, tagged
from predelinquency.settings import Settings


def fairness_section(row: dict[str, Any], settings: Settings) -> str:
    """The fairness figures by sensitive attribute, and those beyond the governance limits."""
    fair = row["metrics"].get("fairness")
    g = settings.governance
    if fair and not fair.get("attributes"):
        return H.section("fairness", SECTIONS["fairness"], H.paragraph(
            f"The training rows carried none of the sensitive attributes ({H.esc(', '.join(g.sensitive_attributes))}):"
            " no fairness figure could be computed for this version's test."))
    if not fair:
        return H.section("fairness", SECTIONS["fairness"], H.paragraph(
            "No fairness figures were recorded when this version was trained (it predates them, or its table has "
            "none of the sensitive attributes): its fairness on the out-of-time test is not known. The nightly "
            "runs' fairness is on the Real-time Monitor."))
    alerts = fair.get("alerts") or []
    head = (f"Population: {H.esc(fair.get('population', ''))}, {tagged(row, 'metrics.fairness.rows')} rows, "
            f"{tagged(row, 'metrics.fairness.labelled_rows')} with a known outcome. Flagged = tier High or Critical. "
            f"Limits: adverse-impact ratio at least {H.fmt(g.adverse_impact_min, 2)} against the most favoured "
            f"group, true-positive-rate gap at most {H.fmt(g.tpr_gap_max, 2)}; groups under "
            f"{g.min_group_size} rows are too small to say anything and raise no alert.")
    if alerts:
        alert_html = H.paragraph(f"{len(alerts)} figure(s) beyond the limits:", "alert") + H.table(
            alerts, {"attribute": "Attribute", "group": "Group", "metric": "Figure", "value": "Value",
                     "limit": "Limit"}, source="metrics.fairness.alerts")
    else:
        alert_html = H.paragraph("No figure beyond the limits.", "ok")
    parts = [H.paragraph(head), alert_html]
    for attr, body in (fair.get("attributes") or {}).items():
        parts.append(f"<h3>{H.esc(attr)} (reference group: {H.esc(body.get('reference_group'))})</h3>")
        parts.append(H.table(body.get("groups", []), {
            "group": "Group", "n": "Rows", "too_small": "Too small", "flagged_share": "Flagged",
            "plan_share": "In plan", "adverse_impact_ratio": "Adverse impact", "auc": "AUC", "mean_pd": "Mean PD",
            "observed_rate": "Observed rate", "tpr": "TPR", "tpr_gap": "TPR gap"},
            widths={"group": "16%", "n": "8%", "too_small": "7%", "flagged_share": "8%", "plan_share": "8%",
                    "adverse_impact_ratio": "9%", "auc": "8%", "mean_pd": "8%", "observed_rate": "10%", "tpr": "8%",
                    "tpr_gap": "10%"},
            source=f"metrics.fairness.attributes.{attr}.groups"))
    return H.section("fairness", SECTIONS["fairness"], *parts)
