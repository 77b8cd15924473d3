"""Bank files in: CSV validation (every bad row reported) and all-or-nothing loading with an audit row."""
