"""Helpers shared by the test packages: databases (db), the demo bank (bank), feature inputs and panels, users."""
