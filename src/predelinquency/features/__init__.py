"""Behavioural features at an as_of date: pure functions from panels, payments and profiles to rows."""
