"""Examples of analytics's request bodies and main responses, keyed by component schema name: KPIs, trend, breakdown, the grid map
and the 12345 figures.

Kept apart from the schemas on purpose: ``shared.openapi.merge_examples`` puts each into
``components.schemas.<Name>.examples`` of the derived document; tests/contracts/test_openapi_examples.py
checks that every request body and 2xx response has one and that each validates against its schema.
Texts are what users type and read, in Chinese; unit and member ids are the demo org's
(``services/data/org_demo.json``).
"""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, Any] = {}
EXAMPLES["Hotline"] = {
    "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00", "unit_id": "G01", "received": 1,
    "accepted_on_time_rate": 0.86, "on_time_completion_rate": 0.86, "satisfaction_rate": 0.86, "previous": {},
    "year_ago": {},
}
EXAMPLES["Trend"] = {
    "metric": "received", "interval": "day", "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00",
    "unit_id": "G01",
    "points": [
        {"bucket": "2026-11-02", "value": 14, "previous": 11, "year_ago": 9},
        {"bucket": "2026-11-03", "value": 17, "previous": 12, "year_ago": 10},
    ],
}
EXAMPLES["GridMap"] = {
    "type": "FeatureCollection", "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00",
    "unit_id": "G01",
    "features": [
        {
            "id": "G01",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[120.101, 30.201], [120.105, 30.201], [120.105, 30.204], [120.101, 30.201]]],
            },
            "properties": {
                "unit_id": "G01", "name": "松涛社区第一网格", "received": 42, "open": 6, "resolved": 33, "overdue": 1,
                "red": 0, "yellow": 2, "blue": 40, "resolution_rate": 0.79, "satisfaction_rate": 0.93,
            },
        },
    ],
    "unmapped": 0,
}
EXAMPLES["Breakdown"] = {
    "dimension": "category", "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00", "unit_id": "G01",
    "items": [
        {
            "key": "case_assigned", "label": "邻里纠纷",
            "kpis": {
                "received": 1, "accepted_on_time_rate": 0.86, "completion_rate": 0.86, "resolution_rate": 0.86,
                "on_time_completion_rate": 0.86, "local_resolution_rate": 0.86, "street_resolution_rate": 0.86,
                "escalation_rate": 0.86, "satisfaction_rate": 0.86, "closed_loop_rate": 0.86, "reopen_rate": 0.86,
                "repeat_applicant_rate": 0.86, "median_accept_minutes": 12.5, "median_resolve_hours": 12.5,
                "counts": {"G01": 1},
            },
        },
    ],
}
EXAMPLES["Kpis"] = {
    "received": 1, "accepted_on_time_rate": 0.86, "completion_rate": 0.86, "resolution_rate": 0.86,
    "on_time_completion_rate": 0.86, "local_resolution_rate": 0.86, "street_resolution_rate": 0.86,
    "escalation_rate": 0.86, "satisfaction_rate": 0.86, "closed_loop_rate": 0.86, "reopen_rate": 0.86,
    "repeat_applicant_rate": 0.86, "median_accept_minutes": 12.5, "median_resolve_hours": 12.5,
    "counts": {"received": 42, "accepted_on_time": 40, "resolved": 33}, "from": "2026-11-03T09:30:00+08:00",
    "to": "2026-11-03T09:30:00+08:00", "unit_id": "G01", "unit_name": "松涛社区第一网格", "assigned": 1,
    "with_outcome": 1, "resolved": 1,
    "previous": {
        "received": 1, "accepted_on_time_rate": 0.86, "completion_rate": 0.86, "resolution_rate": 0.86,
        "on_time_completion_rate": 0.86, "local_resolution_rate": 0.86, "street_resolution_rate": 0.86,
        "escalation_rate": 0.86, "satisfaction_rate": 0.86, "closed_loop_rate": 0.86, "reopen_rate": 0.86,
        "repeat_applicant_rate": 0.86, "median_accept_minutes": 12.5, "median_resolve_hours": 12.5,
        "counts": {"G01": 1}, "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00",
    },
    "year_ago": {
        "received": 1, "accepted_on_time_rate": 0.86, "completion_rate": 0.86, "resolution_rate": 0.86,
        "on_time_completion_rate": 0.86, "local_resolution_rate": 0.86, "street_resolution_rate": 0.86,
        "escalation_rate": 0.86, "satisfaction_rate": 0.86, "closed_loop_rate": 0.86, "reopen_rate": 0.86,
        "repeat_applicant_rate": 0.86, "median_accept_minutes": 12.5, "median_resolve_hours": 12.5,
        "counts": {"G01": 1}, "from": "2026-11-03T09:30:00+08:00", "to": "2026-11-03T09:30:00+08:00",
    },
}

EXAMPLES["Recurrence"] = {
    "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "S1", "closed": 48,
    "recurred": 3, "recurrence_rate": 0.0625,
    "items": [
        {"key": "C1", "label": "松涛社区", "closed": 30, "recurred": 2, "recurrence_rate": 0.0667},
        {"key": "C2", "label": "桂园社区", "closed": 18, "recurred": 1, "recurrence_rate": 0.0556},
    ],
}
_DOCUMENT_FIGURES: dict[str, Any] = {
    "resolved": 33, "cases_with_agreement": 12, "agreements": 13, "agreement_rate": 0.3636, "judicial_applied": 4,
    "judicial_confirmed": 3, "judicial_confirmation_rate": 0.75, "performed": 10, "not_performed": 1,
    "performance_rate": 0.9091,
}
EXAMPLES["DocumentKpis"] = {
    **_DOCUMENT_FIGURES, "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "S1",
    "by": "category",
    "items": [{**_DOCUMENT_FIGURES, "key": "neighbor.water", "label": "漏水渗水"}],
}

# inline responses (no component schema), by operation id and status: the JSON media type's ``example``
OPERATIONS: dict[str, dict[str, Any]] = {
    "funnel": {"200": {
        "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "S1",
        "stages": [{"level": "grid", "label": "网格", "count": 120}, {"level": "community", "label": "社区/村居", "count": 31},
                   {"level": "street", "label": "街道", "count": 9}, {"level": "district", "label": "区", "count": 2}],
    }},
    "hotspots": {"200": {
        "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "S1",
        "grids": [{"unit_id": "G01", "label": "松涛社区第一网格", "count": 18}],
        "buildings": [{"unit_id": "B-G01-3", "label": "松涛花园3号楼", "count": 6}],
        "addresses": [{"address_key": "3f9a1c0e5b7d2a48", "count": 4}],
        "categories": [{"category": "neighbor.water", "label": "漏水渗水", "count": 11}],
        "repeat_applicants": [{"applicant_key": "a81c4e2b9d0f3e57", "count": 3}],
        "spikes": [{"alert_id": "5e4d3c2b-1a09-4f8e-b7d6-c5b4a3928170", "unit_id": "G01", "label": "松涛社区第一网格",
                    "category": "neighbor.water", "category_label": "漏水渗水", "day": "2026-10-28", "count": 5,
                    "baseline": 1.2, "ratio": 4.17}],
    }},
    "people": {"200": {
        "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "C1",
        "items": [{"member_id": "U-G01-1", "unit_id": "G01", "handled": 18, "resolved": 15, "outcomes": 16,
                   "on_time": 14, "on_time_rate": 0.875, "answers": 12, "satisfied": 11, "satisfaction_rate": 0.9167}],
    }},
    "forces": {"200": {
        "from": "2026-10-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00", "unit_id": "S1",
        "items": [
            {"force": "police", "label": "公安", "cases": 9, "outcomes": 8, "resolved": 6, "resolution_rate": 0.75,
             "on_time": 7, "on_time_rate": 0.875, "answers": 5, "satisfaction_rate": 0.8},
            {"force": "people_mediation", "label": "人民调解", "cases": 21, "outcomes": 19, "resolved": 17,
             "resolution_rate": 0.8947, "on_time": 18, "on_time_rate": 0.9474, "answers": 14, "satisfaction_rate": 0.9286},
        ],
    }},
    "aging": {"200": {
        "days": 7, "as_of": "2026-11-03T09:30:00+08:00", "unit_id": "S1", "total": 1,
        "units": [{"unit_id": "C1", "unit_name": "松涛社区", "red": 0, "yellow": 1, "cases": [
            {"case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "code": "FQ-2026-000123", "risk_level": "yellow",
             "received_at": "2026-10-20T10:15:00+08:00", "age_days": 13, "level": "community", "track": "specialist",
             "accepted_at": "2026-10-20T14:02:00+08:00", "resolve_due_at": "2026-11-04T17:30:00+08:00",
             "escalations": 1, "overdue_count": 0},
        ]}],
    }},
}
