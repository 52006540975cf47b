"""The web's field messages for pydantic's refusals: each error type of the API's input types has its words."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from service.schemas.common import Amount, Day, LongText, Name
from service.web.error_text import validation_messages
from service.web.i18n import translate


class Form(BaseModel):
    name: Name | None = None
    reason: LongText | None = None
    amount: Amount | None = None
    on: Day | None = None


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("name", "a\u202eb", "val.text"),
        ("name", "tab\there", "val.text"),
        ("reason", "bell\x07", "val.text"),
        ("name", "   ", "val.required"),
        ("amount", "12,500", "val.number"),
        ("amount", "1.005", "val.places"),
        ("amount", "1234567890123", "val.digits"),
        ("on", "2026-1-2", "val.date"),
        ("on", "2026-02-30", "val.date"),
        ("on", "1989-12-31", "val.date_early"),
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_refusal_has_its_message_in_both_languages(field, value, key, lang):
    with pytest.raises(ValidationError) as caught:
        Form.model_validate({field: value})
    (message,) = validation_messages(lang, caught.value.errors())
    assert message.text == translate(lang, key)
    assert message.text != translate(lang, "val.invalid")
