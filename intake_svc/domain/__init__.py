"""Intake's pure domain: the case file's vocabulary (``case``), personal-data validation and masking
(``personal``), the taxonomy and classifier, 红黄蓝 risk rules, duplicate detection and the timeline's wording.
No I/O beyond loading the shipped data files at start, no framework, no database session."""
