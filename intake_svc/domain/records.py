"""The case file's records (一案一档): staff notes (处置记录) and attachments — their kinds, the note edit window,
and which file types an attachment may be (decided from the content's magic bytes, never from the declared type).

Pure code only: no I/O, no framework.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from intake_svc.domain.case import PartyRole


class NoteKind(StrEnum):
    """What a staff note records."""

    PHONE_CALL = "phone_call"  # 电话联系
    HOME_VISIT = "home_visit"  # 上门走访
    MEDIATION = "mediation"  # 调解
    CONSULTATION = "consultation"  # 会商
    OTHER = "other"  # 其他


NOTE_KIND_ZH = {NoteKind.PHONE_CALL: "电话联系", NoteKind.HOME_VISIT: "上门走访", NoteKind.MEDIATION: "调解",
                NoteKind.CONSULTATION: "会商", NoteKind.OTHER: "其他"}


class NoteVisibility(StrEnum):
    INTERNAL = "internal"  # staff only
    PUBLIC = "public"  # also on the citizen's progress page (masked like every read)


class OwnerKind(StrEnum):
    """What an attachment belongs to (kind + id)."""

    CASE = "case"
    NOTE = "note"
    SESSION = "session"  # a 调解 session (intake_svc.domain.sessions)
    AGREEMENT = "agreement"  # the signed scan of a 人民调解协议书


class EditRefused(StrEnum):
    NOT_AUTHOR = "not_note_author"
    WINDOW_CLOSED = "edit_window_closed"


def edit_refusal(*, author: str, editor: str, created_at: datetime, now: datetime,
                 window: timedelta) -> EditRefused | None:
    """A note is edited by its author within ``window`` of writing it; after that it stands (a new note corrects it)."""
    if author != editor:
        return EditRefused.NOT_AUTHOR
    if now - created_at > window:
        return EditRefused.WINDOW_CLOSED
    return None


# the content types an attachment may have, as the magic bytes tell them (``filetype``'s MIME names)
DEFAULT_ATTACHMENT_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "audio/mpeg", "audio/x-wav", "audio/amr", "audio/mp4", "video/mp4",
)
# declared types that say nothing (browsers send them for unknown files): not compared with the content
UNSPECIFIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})
# the same type under another name
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/wav": "audio/x-wav",
            "audio/wave": "audio/x-wav", "audio/mp3": "audio/mpeg", "audio/x-m4a": "audio/mp4"}


def normalize_type(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


class TypeRefused(StrEnum):
    UNKNOWN = "file_type_unknown"  # no known signature
    NOT_ALLOWED = "file_type_not_allowed"  # e.g. an executable
    MISMATCH = "content_type_mismatch"  # declared image/png, the bytes are a PDF


def type_refusal(detected: str | None, declared: str | None, allowed: frozenset[str]) -> TypeRefused | None:
    """Whether a file whose bytes say ``detected`` (None: no known signature) and whose upload said ``declared``
    may be stored."""
    if detected is None:
        return TypeRefused.UNKNOWN
    if normalize_type(detected) not in allowed:
        return TypeRefused.NOT_ALLOWED
    if declared is not None and normalize_type(declared) not in UNSPECIFIC_TYPES \
            and normalize_type(declared) != normalize_type(detected):
        return TypeRefused.MISMATCH
    return None


def is_image(content_type: str) -> bool:
    return normalize_type(content_type).startswith("image/")


PARTY_ROLE_ZH = {PartyRole.APPLICANT: "申请人", PartyRole.RESPONDENT: "被申请人", PartyRole.OTHER: "其他当事人"}
