"""The org import's CSV form: a units or members CSV → the import document (``schemas.OrgImport``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from routing_svc.schemas import MemberImport, OrgImport, UnitImport
from shared.problems import Problem

UNIT_COLUMNS = ("id", "name", "level", "parent_id", "address_keywords", "polygon", "active", "leaders")
MEMBER_COLUMNS = ("id", "name", "unit_id", "roles", "forces", "phone", "email", "active")
LIST_SEPARATOR = "|"


# --- import ----------------------------------------------------------------------------------------


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("", "1", "true", "yes", "y", "是"):
        return True
    if v in ("0", "false", "no", "n", "否"):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def _list(value: str) -> list[str]:
    return [x.strip() for x in value.split(LIST_SEPARATOR) if x.strip()]


def _leaders(value: str) -> list[dict[str, str]]:
    """``member_id:title|member_id:title`` (e.g. ``U-S1-1:街道书记``) → responsible leaders."""
    out = []
    for item in _list(value):
        member_id, sep, title = item.partition(":")
        if not sep or not member_id.strip() or not title.strip():
            raise ValueError(f"a leader is member_id:title, not {item!r}")
        out.append({"member_id": member_id.strip(), "title": title.strip()})
    return out


def _polygon(value: str) -> list[list[float]] | None:
    """``[[lng, lat], ...]`` as JSON, or ``lng lat; lng lat; ...``."""
    v = value.strip()
    if not v:
        return None
    if v.startswith("["):
        loaded: list[list[float]] = json.loads(v)
        return loaded
    return [[float(x) for x in pair.split()] for pair in v.split(";") if pair.strip()]


def _rows(text: str, kind: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise Problem(422, "invalid_csv", f"the {kind} CSV lacks the columns {missing}",
                      errors=[{"field": f"{kind}.header", "reason": f"missing column {c}", "code": "missing"}
                              for c in missing])
    for i, row in enumerate(reader):
        yield i, {(k or "").strip(): (v or "") for k, v in row.items()}


def parse_csv(text: str, kind: str) -> OrgImport:
    """A units or members CSV (UTF-8, header row; lists separated by ``|``) → an import document.

    Units: ``id,name,level,parent_id,address_keywords,polygon,active,leaders`` (leaders:
    ``member_id:title|…``, e.g. ``U-S1-1:街道书记``); members:
    ``id,name,unit_id,roles,forces,phone,email,active``. Errors name ``units[row].column`` (row 0 = first
    data row).
    """
    errors: list[dict[str, str]] = []
    units: list[UnitImport] = []
    members: list[MemberImport] = []
    if kind == "units":
        for i, row in _rows(text, kind, ("id", "name", "level", "parent_id")):
            try:
                raw: dict[str, Any] = dict(id=row["id"].strip(), name=row["name"].strip(), level=row["level"].strip(),
                                           parent_id=row["parent_id"].strip() or None,
                                           address_keywords=_list(row.get("address_keywords", "")),
                                           polygon=_polygon(row.get("polygon", "")),
                                           active=_bool(row.get("active", "")),
                                           leaders=_leaders(row.get("leaders", "")))
                units.append(UnitImport.model_validate(raw))
            except ValidationError as exc:
                errors += [{"field": f"units[{i}].{'.'.join(str(x) for x in e['loc'])}", "reason": e["msg"],
                            "code": "invalid"} for e in exc.errors()]
            except ValueError as exc:
                errors.append({"field": f"units[{i}]", "reason": str(exc), "code": "invalid"})
    elif kind == "members":
        for i, row in _rows(text, kind, ("id", "name", "unit_id", "roles")):
            try:
                raw = dict(id=row["id"].strip(), name=row["name"].strip(), unit_id=row["unit_id"].strip(),
                           roles=_list(row["roles"]), forces=_list(row.get("forces", "")),
                           phone=row.get("phone", "").strip() or None, email=row.get("email", "").strip() or None,
                           active=_bool(row.get("active", "")))
                members.append(MemberImport.model_validate(raw))
            except ValidationError as exc:
                errors += [{"field": f"members[{i}].{'.'.join(str(x) for x in e['loc'])}", "reason": e["msg"],
                            "code": "invalid"} for e in exc.errors()]
            except ValueError as exc:
                errors.append({"field": f"members[{i}]", "reason": str(exc), "code": "invalid"})
    else:
        raise Problem(422, "validation_failed", "kind must be units or members for a CSV import",
                      errors=[{"field": "query.kind", "reason": "units or members", "code": "invalid"}])
    if errors:
        raise Problem(422, "invalid_csv", f"{len(errors)} invalid value(s) in the {kind} CSV", errors=errors[:200])
    return OrgImport(units=units, members=members)
