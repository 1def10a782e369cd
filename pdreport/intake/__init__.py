"""Intake: returned workbooks → records."""
