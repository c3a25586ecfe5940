"""Stages 1 and 2, database → monday: read the source, build and hash lines, plan the changes,
deliver them exactly once (mutations, or import jobs in ``bulk/``)."""
