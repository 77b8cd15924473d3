"""The week's portfolio for managers: tiers and their movement, rising risk, interventions and their measured
effect, drift and fairness alerts; as a printable HTML page or an Excel workbook, every figure from the database.

The week is the seven business days ending on the day asked (default: the business date). Its tiers compare the
newest scoring on or before its last day with the newest scoring before its first day (the champion's when it
scored that day, as the Risk Overview shows), so "movement" is what changed over the week.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date
from predelinquency.domain.vocabulary import TIERS
from predelinquency.loop.effects import measure_effects
from predelinquency.model.psi import psi_band
from predelinquency.report import html as page
from predelinquency.report import xlsx
from predelinquency.settings import Settings

WEEK_DAYS = 7
RISING_LIMIT = 25   # the rising-risk list a manager reads in a minute
NOT_SCORED = "(not scored)"

MEANINGS = {
    "Figure": "What the row counts or measures",
    "Value": "The figure's value (Summary), or the fairness metric's value (Fairness alerts)",
    "Tier": "Risk tier (settings.scoring.tiers PD bounds, raised by policy rules)",
    "Customers at start": "Customers in the tier at the scoring before the week began",
    "Customers at end": "Customers in the tier at the week's last scoring",
    "Change": "Customers at end minus customers at start",
    "Average PD at start": "Mean probability of a missed payment in 30 days, scoring before the week",
    "Average PD at end": "Mean probability of a missed payment in 30 days, the week's last scoring",
    "Expected loss at start": "Sum of PD × exposure × LGD, scoring before the week",
    "Expected loss at end": "Sum of PD × exposure × LGD, the week's last scoring",
    "From tier": f"Tier at the scoring before the week ({NOT_SCORED}: not scored then)",
    "To tier": f"Tier at the week's last scoring ({NOT_SCORED}: not scored then)",
    "Customers": "Number of customers",
    "Customer": "Customer id", "Name": "Customer's name", "Segment": "Customer segment",
    "Tier at start": "Tier at the scoring before the week", "Tier at end": "Tier at the week's last scoring",
    "PD at start": "Probability of a missed payment in 30 days, scoring before the week",
    "PD at end": "Probability of a missed payment in 30 days, the week's last scoring",
    "PD rise": "PD at end minus PD at start",
    "Top reason": "The strongest reason behind the PD at the week's last scoring",
    "Action": "Contact action (intervention type, or the plan's recommended action)",
    "Made": "Interventions made in the week (business date), not cancelled",
    "In the plan": "Of those made, customers in that day's contact plan (contacted arm)",
    "Results recorded": "Of those made, contacts whose result an officer recorded",
    "Completed": "Of those made, interventions completed",
    "Open": "Of those made, interventions still open or in progress",
    "Cancelled": "Interventions made in the week and cancelled",
    "Settled": "Of those made, interventions whose payment outcome window has closed",
    "Missed": "Of those settled, interventions whose next instalment was missed",
    "Scope": "Which plan units are measured: settled windows to the week's end, or units planned this week",
    "Contacted (settled)": "Settled plan units in the contacted arm",
    "Held out (settled)": "Settled plan units in the randomised holdout",
    "Miss rate contacted": "Share of contacted units whose instalment was missed",
    "Miss rate held out": "Share of held-out units whose instalment was missed",
    "Uplift": "Held-out miss rate minus contacted miss rate (positive: contacts prevent misses)",
    "Uplift 95% low": "Lower end of the uplift's 95 % Newcombe interval",
    "Uplift 95% high": "Upper end of the uplift's 95 % Newcombe interval",
    "Prevented defaults": "Uplift × contacted units",
    "Prevented loss": "The uplift applied to the exposure × LGD of the contacted",
    "Contact cost": "Cost of the contacts measured (settings.actions costs)",
    "ROI": "(Prevented loss − contact cost) / contact cost",
    "Enough data": "Whether the interval is narrow enough (± 3 points, 20 units per arm) to act on",
    "Outcomes still needed": "More settled outcomes needed for an interval of about ± 3 points",
    "True uplift (synthetic)": "On the synthetic bank: the generator's own uplift for the same customers",
    "Run": "Batch run id (batch_runs)", "Job": "The job that scored: nightly, or advance (synthetic bank)",
    "Scored on": "The scoring date (as_of) of the run", "Model": "Model version that scored",
    "Score PSI": "Population stability of the score against the model's training baseline",
    "Score band": "PSI band: stable < 0.1 ≤ watch ≤ 0.25 < retrain",
    "Features stable": "Features with PSI below 0.1", "Features watch": "Features with PSI 0.1 to 0.25",
    "Features retrain": "Features with PSI above 0.25",
    "Behavioural features to retrain on": "Of those, features that are not calendar features (which move with "
                                          "the date): the run's retrain signal",
    "Worst feature": "Feature with the highest PSI", "Worst feature PSI": "Its PSI",
    "Worst feature band": "Its PSI band",
    "Figures": "Which fairness figures raised it: the run's scores, or its realised outcomes",
    "Attribute": "Sensitive attribute (governance.sensitive_attributes)", "Group": "Group of that attribute",
    "Metric": "adverse_impact_ratio (below its limit) or tpr_gap (above its limit)",
    "Limit": "The configured limit it crossed",
}
FORMATS = {
    "Average PD at start": "percent", "Average PD at end": "percent", "Expected loss at start": "money",
    "Expected loss at end": "money", "PD at start": "percent", "PD at end": "percent", "PD rise": "points",
    "Miss rate contacted": "percent", "Miss rate held out": "percent", "Uplift": "points",
    "Uplift 95% low": "points", "Uplift 95% high": "points", "Prevented defaults": "decimal",
    "Prevented loss": "money", "Contact cost": "money", "ROI": "percent", "True uplift (synthetic)": "points",
    "Score PSI": "decimal", "Worst feature PSI": "decimal", "Limit": "decimal",
}


@dataclass(frozen=True)
class Run:
    """One scoring: its date and the model that made it."""

    as_of: date
    model_version: str


@dataclass
class PortfolioReport:
    """The week's portfolio: a summary and one table per section, with display column names."""

    start: date
    end: date
    business_date: date
    start_run: Run | None
    end_run: Run | None
    summary: pd.DataFrame
    tiers: pd.DataFrame
    movement: pd.DataFrame
    rising: pd.DataFrame
    interventions: pd.DataFrame
    effects: pd.DataFrame
    drift: pd.DataFrame
    fairness: pd.DataFrame
    effects_raw: dict[str, Any] = field(default_factory=dict)  # measure_effects: {"to_date": ..., "week": ...}

    def sheets(self) -> list[tuple[str, pd.DataFrame]]:
        """The sections in reading order, as (title, table)."""
        return [("Summary", self.summary), ("Tiers", self.tiers), ("Tier movement", self.movement),
                ("Rising risk", self.rising), ("Interventions", self.interventions),
                ("Measured effect", self.effects), ("Drift", self.drift), ("Fairness alerts", self.fairness)]

    def title(self) -> str:
        return f"Portfolio report, week {self.start.isoformat()} to {self.end.isoformat()}"

    def html(self) -> str:
        """A self-contained, printable HTML page."""
        return render_html(self)

    def xlsx(self) -> bytes:
        """An Excel workbook: one sheet per section, then the column meanings."""
        return xlsx.workbook(self.sheets(), MEANINGS, FORMATS)


def _rows(conn: Connection, sql: str, **params: Any) -> pd.DataFrame:
    result = conn.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def scoring_on_or_before(conn: Connection, day: date, prefer: str | None) -> Run | None:
    """The newest scoring on or before `day`: `prefer`'s (the champion) when it scored that date, else the
    newest-made run of that date."""
    as_of = conn.execute(text("SELECT max(as_of) FROM risk_scores WHERE as_of <= :d"), {"d": day}).scalar()
    if as_of is None:
        return None
    models = conn.execute(text("SELECT model_version FROM risk_scores WHERE as_of = :d GROUP BY model_version "
                               "ORDER BY max(created_at) DESC"), {"d": as_of}).scalars().all()
    return Run(as_of, prefer if prefer in models else models[0])


def _tiers(conn: Connection, start: Run | None, end: Run | None) -> pd.DataFrame:
    """Customers, average PD and expected loss per tier at the two scorings, riskiest tier first."""
    def per_tier(run: Run | None) -> pd.DataFrame:
        if run is None:
            return pd.DataFrame(columns=["tier", "customers", "avg_pd", "expected_loss"])
        return _rows(conn, """SELECT tier, count(*) AS customers, avg(pd) AS avg_pd,
                                     sum(expected_loss) AS expected_loss
                              FROM risk_scores WHERE as_of = :d AND model_version = :v GROUP BY tier""",
                     d=run.as_of, v=run.model_version).set_index("tier")
    s, e = per_tier(start), per_tier(end)
    out = []
    for tier in reversed(TIERS):
        def get(frame: pd.DataFrame, col: str, tier: str = tier) -> Any:
            return frame.at[tier, col] if tier in frame.index else (0 if col == "customers" else None)
        out.append({"Tier": tier,
                    "Customers at start": int(get(s, "customers")) if start else None,
                    "Customers at end": int(get(e, "customers")) if end else None,
                    "Change": int(get(e, "customers")) - int(get(s, "customers")) if start and end else None,
                    "Average PD at start": get(s, "avg_pd"), "Average PD at end": get(e, "avg_pd"),
                    "Expected loss at start": get(s, "expected_loss"),
                    "Expected loss at end": get(e, "expected_loss")})
    return pd.DataFrame(out).astype({"Customers at start": "Int64", "Customers at end": "Int64", "Change": "Int64"})


def _movement(conn: Connection, start: Run | None, end: Run | None) -> pd.DataFrame:
    """Customers per (tier before the week, tier at its end), newly scored and no longer scored included."""
    cols = ["From tier", "To tier", "Customers"]
    if start is None or end is None:
        return pd.DataFrame(columns=cols)
    df = _rows(conn, f"""
        SELECT coalesce(s.tier, '{NOT_SCORED}') AS "From tier", coalesce(e.tier, '{NOT_SCORED}') AS "To tier",
               count(*) AS "Customers"
        FROM (SELECT customer_id, tier FROM risk_scores WHERE as_of = :sd AND model_version = :sv) s
        FULL JOIN (SELECT customer_id, tier FROM risk_scores WHERE as_of = :ed AND model_version = :ev) e
            USING (customer_id)
        GROUP BY 1, 2""", sd=start.as_of, sv=start.model_version, ed=end.as_of, ev=end.model_version)
    order = {t: i for i, t in enumerate((NOT_SCORED, *TIERS))}
    df = df.assign(_f=df["From tier"].map(order), _t=df["To tier"].map(order))
    return df.sort_values(["_f", "_t"], ascending=False).drop(columns=["_f", "_t"]).reset_index(drop=True)


def _rising(conn: Connection, start: Run | None, end: Run | None, limit: int) -> pd.DataFrame:
    """The customers whose PD rose most over the week."""
    cols = ["Customer", "Name", "Segment", "Tier at start", "Tier at end", "PD at start", "PD at end", "PD rise",
            "Top reason"]
    if start is None or end is None:
        return pd.DataFrame(columns=cols)
    return _rows(conn, """
        SELECT e.customer_id AS "Customer", c.full_name AS "Name", c.segment AS "Segment",
               s.tier AS "Tier at start", e.tier AS "Tier at end", s.pd AS "PD at start", e.pd AS "PD at end",
               e.pd - s.pd AS "PD rise", e.reasons -> 0 ->> 'text' AS "Top reason"
        FROM risk_scores e
        JOIN risk_scores s ON s.as_of = :sd AND s.model_version = :sv AND s.customer_id = e.customer_id
        JOIN customers c ON c.customer_id = e.customer_id
        WHERE e.as_of = :ed AND e.model_version = :ev AND e.pd > s.pd
        ORDER BY e.pd - s.pd DESC, e.customer_id LIMIT :n""",
                 sd=start.as_of, sv=start.model_version, ed=end.as_of, ev=end.model_version, n=limit)


def _interventions(conn: Connection, start: date, end: date) -> pd.DataFrame:
    """Interventions made in the week per action: made, in the plan, results, status, settled and missed."""
    return _rows(conn, """
        SELECT i.intervention_type AS "Action",
               count(*) FILTER (WHERE i.status <> 'cancelled') AS "Made",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND EXISTS (
                   SELECT 1 FROM contact_plan p WHERE p.customer_id = i.customer_id
                   AND p.business_date = i.business_date AND p.arm = 'contact')) AS "In the plan",
               count(o.intervention_id) FILTER (WHERE i.status <> 'cancelled') AS "Results recorded",
               count(*) FILTER (WHERE i.status = 'completed') AS "Completed",
               count(*) FILTER (WHERE i.status IN ('open', 'in_progress')) AS "Open",
               count(*) FILTER (WHERE i.status = 'cancelled') AS "Cancelled",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND i.settled_on IS NOT NULL) AS "Settled",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND i.payment_outcome = 'missed') AS "Missed"
        FROM interventions i LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id
        WHERE i.business_date BETWEEN :s AND :e
        GROUP BY 1 ORDER BY "Made" DESC, 1""", s=start, e=end)


def _effect_row(scope: str, action: str, r: dict[str, Any]) -> dict[str, Any]:
    return {"Scope": scope, "Action": action, "Contacted (settled)": r["contacted"],
            "Held out (settled)": r["holdout"], "Miss rate contacted": r["miss_rate_contacted"],
            "Miss rate held out": r["miss_rate_holdout"], "Uplift": r["uplift"], "Uplift 95% low": r["ci_low"],
            "Uplift 95% high": r["ci_high"], "Prevented defaults": r["prevented_defaults"],
            "Prevented loss": r["prevented_loss"], "Contact cost": r["contact_cost"], "ROI": r["roi"],
            "Enough data": "yes" if r["enough_data"] else "not enough data yet",
            "Outcomes still needed": r["outcomes_needed"], "True uplift (synthetic)": r.get("true_uplift")}


def _effects(measured: dict[str, dict[str, Any]], start: date, end: date) -> pd.DataFrame:
    """Measured effect over all settled windows to the week's end (overall and per action), and of the units
    planned in the week."""
    to_date, week = f"settled to {end.isoformat()}", f"planned {start.isoformat()} to {end.isoformat()}"
    rows = [_effect_row(to_date, "all actions", measured["to_date"]["overall"])]
    rows += [_effect_row(to_date, r["action"], r) for r in measured["to_date"]["by_action"]]
    rows.append(_effect_row(week, "all actions", measured["week"]["overall"]))
    return pd.DataFrame(rows)


def _metrics(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _week_runs(conn: Connection, start: date, end: date) -> pd.DataFrame:
    """The week's successful scoring jobs (nightly, or advance on the synthetic bank) and their metrics."""
    return _rows(conn, """
        SELECT run_id, kind, metrics FROM batch_runs
        WHERE kind IN ('nightly', 'advance') AND status = 'succeeded' AND metrics ? 'as_of'
          AND (metrics ->> 'as_of')::date BETWEEN :s AND :e
        ORDER BY (metrics ->> 'as_of')::date, run_id""", s=start, e=end)


def _drift(runs: pd.DataFrame) -> pd.DataFrame:
    """PSI of the score and the features per run of the week, with their bands (model/psi.psi_band)."""
    out = []
    for r in runs.itertuples():
        m = _metrics(r.metrics)
        psi = m.get("psi") if isinstance(m.get("psi"), dict) else {}
        if not psi:
            continue
        score = _number(psi.get("score"))
        feats = {str(k): v for k, v in (psi.get("features") or {}).items() if _number(v) is not None}
        bands = [psi_band(float(v)) for v in feats.values()]
        worst = max(feats.items(), key=lambda kv: kv[1], default=(None, None))
        out.append({"Run": int(r.run_id), "Job": r.kind, "Scored on": date.fromisoformat(m["as_of"]),
                    "Model": m.get("model_version"), "Score PSI": score,
                    "Score band": psi_band(score) if score is not None else None,
                    "Features stable": bands.count("stable"), "Features watch": bands.count("watch"),
                    "Features retrain": bands.count("retrain"),
                    "Behavioural features to retrain on": len(psi.get("retrain") or []), "Worst feature": worst[0],
                    "Worst feature PSI": worst[1],
                    "Worst feature band": psi_band(float(worst[1])) if worst[1] is not None else None})
    cols = ["Run", "Job", "Scored on", "Model", "Score PSI", "Score band", "Features stable", "Features watch",
            "Features retrain", "Behavioural features to retrain on", "Worst feature", "Worst feature PSI",
            "Worst feature band"]
    return pd.DataFrame(out, columns=cols)


def _alerts_of(fairness: Any) -> list[dict[str, Any]]:
    f = _metrics(fairness)
    alerts = f.get("alerts")
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []


def _fairness(conn: Connection, runs: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Fairness alerts of the week's runs: per scoring date from run_performance (scored and realised figures)
    where that table exists, else from the runs' own metrics."""
    found: dict[tuple, dict[str, Any]] = {}

    def add(as_of: Any, model: Any, figures: str, fairness: Any) -> None:
        for a in _alerts_of(fairness):
            row = {"Scored on": as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of)),
                   "Model": model, "Figures": figures, "Attribute": a.get("attribute"), "Group": a.get("group"),
                   "Metric": a.get("metric"), "Value": _number(a.get("value")), "Limit": _number(a.get("limit"))}
            found.setdefault(tuple(row[k] for k in ("Scored on", "Model", "Figures", "Attribute", "Group",
                                                      "Metric")), row)

    if conn.execute(text("SELECT to_regclass('run_performance') IS NOT NULL")).scalar_one():
        perf = _rows(conn, """SELECT as_of, model_version, fairness, realised_fairness FROM run_performance
                              WHERE as_of BETWEEN :s AND :e ORDER BY as_of, model_version""", s=start, e=end)
        for r in perf.itertuples():
            add(r.as_of, r.model_version, "scored", r.fairness)
            add(r.as_of, r.model_version, "realised", r.realised_fairness)
    for r in runs.itertuples():
        m = _metrics(r.metrics)
        add(m["as_of"], m.get("model_version"), "scored", m.get("fairness"))
    cols = ["Scored on", "Model", "Figures", "Attribute", "Group", "Metric", "Value", "Limit"]
    return pd.DataFrame(list(found.values()), columns=cols).sort_values(
        ["Scored on", "Model", "Figures", "Attribute", "Group", "Metric"]).reset_index(drop=True)


def portfolio_report(conn: Connection, settings: Settings, week: date | None = None) -> PortfolioReport:
    """The portfolio over the seven days ending on `week` (default: the business date)."""
    today = business_date(conn)
    end = week or today
    start = end - timedelta(days=WEEK_DAYS - 1)
    champion = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()
    end_run = scoring_on_or_before(conn, end, champion)
    start_run = scoring_on_or_before(conn, start - timedelta(days=1), end_run.model_version if end_run else None)
    tiers = _tiers(conn, start_run, end_run)
    movement = _movement(conn, start_run, end_run)
    rank = {t: i for i, t in enumerate(TIERS)}
    riskier = int(movement.loc[movement["From tier"].map(rank).lt(movement["To tier"].map(rank)), "Customers"].sum())
    safer = int(movement.loc[movement["From tier"].map(rank).gt(movement["To tier"].map(rank)), "Customers"].sum())
    measured = {"to_date": measure_effects(conn, settings, until=end),
                "week": measure_effects(conn, settings, since=start, until=end)}
    runs = _week_runs(conn, start, end)
    drift, fairness = _drift(runs), _fairness(conn, runs, start, end)
    interventions = _interventions(conn, start, end)
    plan = conn.execute(text("""
        SELECT count(*) FILTER (WHERE arm = 'contact') AS contact, count(*) FILTER (WHERE arm = 'holdout') AS holdout
        FROM contact_plan WHERE business_date BETWEEN :s AND :e"""), {"s": start, "e": end}).one()
    overall = measured["to_date"]["overall"]
    high = tiers.set_index("Tier")
    figures = {
        "Week from": start, "Week to": end, "Business date": today,
        "Scoring before the week": start_run.as_of if start_run else None,
        "Week's last scoring": end_run.as_of if end_run else None,
        "Model": end_run.model_version if end_run else None,
        "Customers scored at end": int(tiers["Customers at end"].fillna(0).sum()) if end_run else None,
        "High or Critical at start": int(high.loc[["High", "Critical"], "Customers at start"].fillna(0).sum())
        if start_run else None,
        "High or Critical at end": int(high.loc[["High", "Critical"], "Customers at end"].fillna(0).sum())
        if end_run else None,
        "Moved to a riskier tier": riskier, "Moved to a safer tier": safer,
        "Interventions made": int(interventions["Made"].sum()),
        "Planned for contact": int(plan.contact), "Held out at random": int(plan.holdout),
        "Measured uplift to date": _points(overall["uplift"]) if overall["enough_data"] else "not enough data yet",
        "Nightly runs with drift figures": len(drift),
        "Runs with a score PSI in the retrain band": int((drift["Score band"] == "retrain").sum()),
        "Fairness alerts": len(fairness) if len(fairness) else "none recorded",
    }
    summary = pd.DataFrame(list(figures.items()), columns=["Figure", "Value"])
    return PortfolioReport(
        start=start, end=end, business_date=today, start_run=start_run, end_run=end_run, summary=summary,
        tiers=tiers, movement=movement, rising=_rising(conn, start_run, end_run, RISING_LIMIT),
        interventions=interventions, effects=_effects(measured, start, end), drift=drift, fairness=fairness,
        effects_raw=measured)


def _points(rate_difference: float | None) -> str:
    return "–" if rate_difference is None else f"{rate_difference * 100:+.2f} points"


# decimals printed per column in the HTML (PDs and rates as probabilities, money in cents)
_DIGITS = {c: 2 for c, kind in FORMATS.items() if kind == "money"} | {"Prevented defaults": 1, "ROI": 2}


def _tier_chart(tiers: pd.DataFrame) -> str:
    """Customers per tier at the start and the end of the week, side by side."""
    fig, ax = page.new_figure(5.2, 2.6)
    order = list(TIERS)
    t = tiers.set_index("Tier").reindex(order)
    x = range(len(order))
    ax.bar([i - 0.2 for i in x], t["Customers at start"].fillna(0).astype(float), width=0.4, label="start",
           color="#9fb3c8")
    ax.bar([i + 0.2 for i in x], t["Customers at end"].fillna(0).astype(float), width=0.4, label="end",
           color="#0b2545")
    ax.set_xticks(list(x), order)
    ax.set_ylabel("customers", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    return page.chart(fig, "Customers per tier at the start and the end of the week")


def render_html(r: PortfolioReport) -> str:
    """The report as one self-contained, printable HTML page (report/html.py)."""
    def table(name: str, frame: pd.DataFrame, empty: str, key: str | None = None) -> str:
        # each figure tagged "{table}.{row's key, else position}.{column}": traceable to the row it came from
        def source(i: int, row: dict[str, Any], column: str) -> str:
            return f"{name}.{row[key] if key else i}.{column}"
        return page.table(frame, digits=_DIGITS, source=source, empty=empty)

    summary = page.key_values((str(f), page.figure(v)) for f, v in r.summary.itertuples(index=False))
    runs = (f"Tiers compare the scoring of {page.fmt(r.start_run.as_of if r.start_run else None)} "
            f"({page.fmt(r.start_run.model_version if r.start_run else None)}) with that of "
            f"{page.fmt(r.end_run.as_of if r.end_run else None)} "
            f"({page.fmt(r.end_run.model_version if r.end_run else None)}).")
    fair_limits = "none recorded" if r.fairness.empty else f"{len(r.fairness)} alert(s)"
    body = [
        page.section("summary", "Summary", summary),
        page.section("tiers", "Tiers and their movement", page.paragraph(page.esc(runs), "note"),
                     _tier_chart(r.tiers) if r.end_run else "",
                     table("tiers", r.tiers if r.end_run else r.tiers.iloc[:0],
                           "No scoring on or before the week's end.", key="Tier"),
                     "<h3>Movement between tiers</h3>",
                     table("movement", r.movement, "No scoring before the week to compare with.")),
        page.section("rising", f"Rising-risk customers (the {RISING_LIMIT} largest PD rises)",
                     table("rising", r.rising, "No customer's PD rose over the week.", key="Customer")),
        page.section("interventions", "Interventions and their measured effect",
                     table("interventions", r.interventions, "No intervention made in the week.", key="Action"),
                     page.paragraph(page.esc(r.effects_raw.get("to_date", {}).get(
                         "method", "intention to treat")), "note"),
                     table("effects", r.effects, "Nothing measured yet.")),
        page.section("drift", "Drift (PSI of the week's runs)",
                     table("drift", r.drift, "None recorded: no nightly run with drift figures in the week.",
                           key="Run")),
        page.section("fairness", "Fairness alerts",
                     page.paragraph(page.esc(f"Fairness alerts: {fair_limits}."),
                                    "alert" if len(r.fairness) else "ok"),
                     table("fairness", r.fairness, "") if len(r.fairness) else ""),
    ]
    subtitle = (f"Business date {r.business_date.isoformat()}; every figure read from the database "
                "(risk_scores, interventions, contact_plan, batch_runs, run_performance).")
    return page.page(r.title(), subtitle, "\n".join(body))
