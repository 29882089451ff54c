"""The records' pure rules: phone and ID numbers found in free text and masked, the note edit window, the type of
an attachment decided by its content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake_svc.domain.records import EditRefused, TypeRefused, edit_refusal, type_refusal
from intake_svc.domain.textscan import has_personal_data, mask_text

ALLOWED = frozenset({"image/png", "image/jpeg", "application/pdf"})


@pytest.mark.parametrize(("typed", "shown"), [
    ("请拨13812345678联系", "请拨138****5678联系"),
    ("电话 138-1234-5678。", "电话 138****5678。"),
    ("+86 138 1234 5678", "138****5678"),
    ("座机0571-87654321", "座机0571-******21"),
    ("(010)12345678", "010-******78"),
    ("02112345678", "021-******78"),
    ("身份证11010519491231002X", "身份证110105********002X"),
    ("身份证11010519491231002x号", "身份证110105********002X号"),
])
def test_phone_and_id_numbers_in_text_are_masked(typed: str, shown: str) -> None:
    assert mask_text(typed) == shown
    assert mask_text(shown) == shown  # masking twice changes nothing
    assert has_personal_data(typed) and not has_personal_data(shown)


@pytest.mark.parametrize("text", [
    "110105194912310021",  # 18 digits, wrong check digit: an order number, not an ID
    "订单号 1234567890123456789012",  # a longer run of digits
    "金额12000元，2026年11月23日，3号楼201室",
    "12345678",  # eight digits, no area code
])
def test_other_numbers_are_left_as_typed(text: str) -> None:
    assert mask_text(text) == text


def test_a_note_is_edited_by_its_author_within_the_window() -> None:
    made = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    window = timedelta(minutes=30)
    assert edit_refusal(author="a", editor="a", created_at=made, now=made + window, window=window) is None
    assert edit_refusal(author="a", editor="a", created_at=made, now=made + window + timedelta(seconds=1),
                        window=window) == EditRefused.WINDOW_CLOSED
    assert edit_refusal(author="a", editor="b", created_at=made, now=made, window=window) == EditRefused.NOT_AUTHOR


def test_the_content_decides_the_type_not_the_declaration() -> None:
    assert type_refusal("image/png", "image/png", ALLOWED) is None
    assert type_refusal("image/png", "application/octet-stream", ALLOWED) is None
    assert type_refusal("image/jpeg", "image/jpg", ALLOWED) is None  # an alias
    assert type_refusal("application/x-executable", "image/png", ALLOWED) == TypeRefused.NOT_ALLOWED
    assert type_refusal("application/pdf", "image/png", ALLOWED) == TypeRefused.MISMATCH
    assert type_refusal(None, "image/png", ALLOWED) == TypeRefused.UNKNOWN
