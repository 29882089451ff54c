"""Intake's raw SQL (named statements) and its data access: the registration hot path (``registration``), the
workflow consumer's one-statement update (``workflow``) and the case file's loads and timeline rows (``cases``)."""
