"""The statements of staff search and the registration pre-check (read only)."""

from __future__ import annotations

from intake_svc.store.registration import READ
from intake_svc.tables import SCHEMA

# registration's read without taking a case code (the pre-check saves nothing): the same matches, the same counts
PREVIEW_READ = READ.replace(f"nextval('{SCHEMA}.case_code_seq') AS seq,", "")
assert PREVIEW_READ != READ, "registration's READ changed: update the pre-check's statement"
