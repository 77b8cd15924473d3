"""Cached, aggregated reads for the dashboard pages, one module per page area (writes go through operations)."""
