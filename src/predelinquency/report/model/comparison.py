"""Sections 8 and 9 of the model report: the comparison with the champion at the time, and the limitations."""

from __future__ import annotations

import math
from typing import Any

from predelinquency.report import html as H
from predelinquency.report.model.figures import SECTIONS, tagged, value_at

COMPARED = ("oot_auc", "oot_pr_auc", "brier", "ece", "threshold", "precision_at_threshold", "recall_at_threshold",
            "share_flagged_at_threshold", "expected_cost_per_customer", "test_rows", "test_default_rate",
            "ceiling_auc")


def comparison_section(row: dict[str, Any], other: dict[str, Any] | None) -> str:
    """The version's test figures beside those of the champion when it was registered."""
    if other is None:
        return H.section("comparison", SECTIONS["comparison"], H.paragraph(
            "None: this was the first model registered, champion from the start."))
    if other["version"] == row["version"]:
        return H.section("comparison", SECTIONS["comparison"], H.paragraph("This version was the champion."))
    mine, theirs = row["metrics"], other["metrics"]
    body = []
    for k in COMPARED:
        a, b = mine.get(k), theirs.get(k)
        diff = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        body.append(f"<tr><th>{H.esc(k)}</th><td class=\"num\">{tagged(row, f'metrics.{k}')}</td>"
                    f"<td class=\"num\">{H.figure(b, f'champion_at_the_time.metrics.{k}')}</td>"
                    f"<td class=\"num\">{H.esc(H.fmt(diff))}</td></tr>")
    window = [(value_at(r, "params.split.test.first"), value_at(r, "params.split.test.last")) for r in (row, other)]
    caveat = []
    if row["kind"] != other["kind"]:
        caveat.append(f"The champion then was a {other['kind']} model, this one is {row['kind']}: their test rows "
                      "are different populations, so the figures are not comparable.")
    elif window[0] != window[1]:
        caveat.append(f"Their out-of-time tests differ ({window[1][0]} to {window[1][1]} against {window[0][0]} to "
                      f"{window[0][1]}): compare with care.")
    table_html = ("<table><thead><tr><th>Figure</th><th class=\"num\">This version</th>"
                  f"<th class=\"num\">{H.esc(other['version'])}</th><th class=\"num\">Difference</th></tr></thead>"
                  f"<tbody>{''.join(body)}</tbody></table>")
    return H.section("comparison", SECTIONS["comparison"], H.paragraph(
        f"When this version was registered the champion was <b>{H.esc(other['version'])}</b> ({H.esc(other['kind'])}, "
        f"registered {H.esc(H.fmt(other['created_at']))}, now {H.esc(other['status'])})."),
        *[H.paragraph(H.esc(c), "note") for c in caveat], table_html)


def _auc_standard_error(a: float, positives: int, negatives: int) -> float:
    """Hanley and McNeil's standard error of an AUC from its value and the two class counts."""
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives)
    return math.sqrt(max(var, 0.0))


def limitations_section(row: dict[str, Any]) -> str:
    """What the figures cannot say: the ceiling, their uncertainty and what the model does not see."""
    m = row["metrics"]
    items = []
    if m.get("ceiling_auc") is not None:
        items.append(
            f"Synthetic data: the generator knows each customer's true PD. Ranking the same test rows by it gives AUC "
            f"{tagged(row, 'metrics.ceiling_auc')}, the most any model can reach on this bank; this model reaches "
            f"{tagged(row, 'metrics.oot_auc')}, {tagged(row, 'metrics.auc_share_of_ceiling')} of that ceiling. "
            "Figures on the demo bank describe the generator's customers, not a real bank's.")
    else:
        items.append("No ground truth is known for these data (no generator's true PD): how far the model is from "
                     "the best possible is not known.")
    auc_, pos, n = m.get("oot_auc"), m.get("test_defaults"), m.get("test_rows")
    if auc_ is not None and pos and n and n > pos:
        se = _auc_standard_error(auc_, pos, n - pos)
        items.append(f"The out-of-time test holds {tagged(row, 'metrics.test_defaults')} defaults among "
                     f"{tagged(row, 'metrics.test_rows')} rows: its AUC has a standard error of about "
                     f"{H.figure(se, 'derived.auc_standard_error')} (Hanley–McNeil), and every figure by tier, "
                     "segment or group rests on fewer defaults still.")
    if m.get("cv_auc_std") is not None:
        items.append(f"Across cross-validation folds the AUC varied by ± {tagged(row, 'metrics.cv_auc_std')} around "
                     f"{tagged(row, 'metrics.cv_auc_mean')}.")
    items.append("Sensitive attributes are not features, but other features may stand in for them; the fairness "
                 "figures measure outcomes by group, not why they differ.")
    items.append("Scores after a contact reflect the contact: the model was trained on outcomes that earlier contacts "
                 "may have changed, and the nightly PSI shows drift in inputs, not in the relation between inputs "
                 "and defaults (that needs the realised performance once labels arrive).")
    return H.section("limitations", SECTIONS["limitations"],
                     "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
