"""The workflow consumer's hot statement: one per ``fq.case.assigned.v1``."""

from __future__ import annotations

from sqlalchemy import text

from intake_svc.tables import SCHEMA

# the case row updated (status, unit, assignment, who may see it: the unit's path added, order kept), its timeline
# entry added (staff-only on a merged case: it follows its primary); nothing returned when the case is unknown
ASSIGNED = text(f"""
WITH u AS (
    UPDATE {SCHEMA}.cases c SET current_unit_id = :unit_id, assignment_id = :assignment_id,
        status = CASE WHEN c.status = :merged THEN c.status ELSE :status END,
        visible_units = coalesce((SELECT array_agg(v ORDER BY o) FROM (
            SELECT v, min(o) AS o FROM unnest(c.visible_units || CAST(:path AS varchar[])) WITH ORDINALITY AS x(v, o)
            GROUP BY v) AS firsts), c.visible_units),
        updated_at = :at, version = c.version + 1
    WHERE c.id = :case_id
    RETURNING c.id, c.status
)
INSERT INTO {SCHEMA}.timeline (case_id, at, kind, actor, summary, public, data)
SELECT id, :at, :kind, :unit_id, :summary, status <> :merged, CAST(:data AS jsonb) FROM u
RETURNING case_id
""")
