"""Job history (batch_runs) and drift (PSI)."""
