"""Section 5 of the model report: the out-of-time test as training recorded it, with its curves and breakdowns."""

from __future__ import annotations

from typing import Any

from predelinquency.report import html as H
from predelinquency.report.model.figures import GREY, NAVY, ORANGE, SECTIONS, tagged


def _curve_charts(m: dict[str, Any]) -> list[str]:
    curves = m.get("curves", {})
    out = []
    if "roc" in curves:
        fig, ax = H.new_figure()
        ax.plot(curves["roc"]["fpr"], curves["roc"]["tpr"], color=NAVY, label=f"AUC {H.fmt(m.get('oot_auc'))}")
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=0.8, label="chance")
        ax.set(xlabel="False-positive rate", ylabel="True-positive rate", title="ROC, out-of-time test")
        ax.legend(fontsize=8, loc="lower right")
        out.append(H.chart(fig, "ROC curve"))
    if "pr" in curves:
        fig, ax = H.new_figure()
        ax.plot(curves["pr"]["recall"], curves["pr"]["precision"], color=NAVY,
                label=f"average precision {H.fmt(m.get('oot_pr_auc'))}")
        ax.axhline(m.get("test_default_rate") or 0, color=GREY, linestyle="--", linewidth=0.8, label="default rate")
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision–recall, out-of-time test")
        ax.legend(fontsize=8, loc="upper right")
        out.append(H.chart(fig, "Precision-recall curve"))
    if "calibration" in curves:
        cal = curves["calibration"]
        fig, ax = H.new_figure()
        top = max(max(cal["pred"] + cal["true"], default=0), 1e-3) * 1.05
        ax.plot([0, top], [0, top], color=GREY, linestyle="--", linewidth=0.8, label="perfect")
        ax.plot(cal["pred"], cal["true"], marker="o", markersize=3.5, color=NAVY, label="PD-decile bins")
        ax.set(xlabel="Mean PD", ylabel="Observed default rate", title="Calibration, out-of-time test")
        ax.legend(fontsize=8, loc="upper left")
        out.append(H.chart(fig, "Calibration curve"))
    if "cost_curve" in curves and curves["cost_curve"]["threshold"]:
        cc = curves["cost_curve"]
        fig, ax = H.new_figure()
        ax.plot(cc["threshold"], cc["cost"], color=NAVY, label="cost on the test")
        ax.axvline(m.get("threshold", 0), color=ORANGE, linewidth=1, label="chosen threshold")
        ax.axhline(m.get("expected_cost_no_model", 0), color=GREY, linestyle="--", linewidth=0.8, label="no model")
        ax.set_xscale("log")
        ax.set(xlabel="PD threshold", ylabel="Total cost", title="Cost by threshold, out-of-time test")
        ax.legend(fontsize=8)
        out.append(H.chart(fig, "Cost by threshold"))
    return out


def _breakdown(m: dict[str, Any], key: str, label: str) -> str:
    """The by-tier or by-segment table training recorded; a plain statement when it did not."""
    rows = m.get(key)
    if rows is None:
        return H.paragraph(f"Training did not record the out-of-time figures by {label} for this version.", "note")
    return H.table(rows, {"group": label.capitalize(), "rows": "Rows", "defaults": "Defaults",
                          "default_rate": "Default rate", "mean_pd": "Mean PD", "auc": "AUC",
                          "flagged_share": "Flagged at threshold", "precision_at_threshold": "Precision",
                          "recall_at_threshold": "Recall", "share_of_defaults": "Share of all defaults"},
                   source=f"metrics.{key}",
                   widths={"group": "16%", "rows": "8%", "defaults": "8%", "default_rate": "9%", "mean_pd": "9%",
                           "auc": "8%", "flagged_share": "10%", "precision_at_threshold": "10%",
                           "recall_at_threshold": "10%", "share_of_defaults": "12%"})


def performance_section(row: dict[str, Any]) -> str:
    """The out-of-time test's figures, curves, confusion at the threshold and breakdowns."""
    m = row["metrics"]
    facts = [("ROC AUC", tagged(row, "metrics.oot_auc")),
             ("Average precision (PR AUC)", tagged(row, "metrics.oot_pr_auc")),
             ("Brier score", tagged(row, "metrics.brier")), ("Expected calibration error", tagged(row, "metrics.ece")),
             ("Mean PD · default rate",
              f"{tagged(row, 'metrics.mean_pd')} · {tagged(row, 'metrics.test_default_rate')}"),
             ("Test rows · defaults", f"{tagged(row, 'metrics.test_rows')} · {tagged(row, 'metrics.test_defaults')}"),
             ("At the threshold: precision · recall · flagged",
              f"{tagged(row, 'metrics.precision_at_threshold')} · {tagged(row, 'metrics.recall_at_threshold')} · "
              f"{tagged(row, 'metrics.share_flagged_at_threshold')}"),
             ("Riskiest 5 %: precision · recall", f"{tagged(row, 'metrics.precision_top5')} · "
                                                 f"{tagged(row, 'metrics.recall_top5')}"),
             ("Cost: model · no model · at PD 0.5", f"{tagged(row, 'metrics.expected_cost', 2)} · "
                                                   f"{tagged(row, 'metrics.expected_cost_no_model', 2)} · "
                                                   f"{tagged(row, 'metrics.expected_cost_at_0_5', 2)}"),
             ("Saving against no model", tagged(row, "metrics.cost_saving_vs_no_model", 2))]
    cm = m.get("curves", {}).get("confusion")
    confusion = H.paragraph("No confusion matrix recorded.", "note") if not cm else (
        "<table class=\"kv\"><tr><th></th><th>Defaulted</th><th>Did not default</th></tr>"
        "<tr><th>PD at or above the threshold (contact)</th>"
        f"<td class=\"num\">{tagged(row, 'metrics.curves.confusion.tp')}</td>"
        f"<td class=\"num\">{tagged(row, 'metrics.curves.confusion.fp')}</td></tr>"
        f"<tr><th>PD below the threshold</th><td class=\"num\">{tagged(row, 'metrics.curves.confusion.fn')}</td>"
        f"<td class=\"num\">{tagged(row, 'metrics.curves.confusion.tn')}</td></tr></table>")
    charts = _curve_charts(m)
    rows_of_charts = [H.chart_row(*charts[i:i + 2]) for i in range(0, len(charts), 2)]
    tiers = ", ".join(f"{k} {H.fmt(v)}" for k, v in (m.get("tier_bounds") or {}).items())
    return H.section("performance", SECTIONS["performance"], H.key_values(facts), *rows_of_charts,
                     "<h3>Confusion at the threshold</h3>", confusion,
                     "<h3>By tier</h3>", H.paragraph(f"Tier bounds at training: {H.esc(tiers)}.", "note") if tiers
                     else "", _breakdown(m, "by_tier", "tier"),
                     "<h3>By segment</h3>", _breakdown(m, "by_segment", "segment"))
