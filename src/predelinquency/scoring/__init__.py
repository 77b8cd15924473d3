"""Nightly scoring: PD → score, tier, reasons, recommended action, written to risk_scores."""
