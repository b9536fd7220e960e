"""The fields added through the declaration: P12 Move Undelivered Emails (profile) and M19 Process
Email From (mailbox), judged by the domain rules."""

from __future__ import annotations

import pytest
from domain_builders import imap_profile

from mailbox_tui.domain.context import ProfileContext
from mailbox_tui.domain.options import ServerType
from mailbox_tui.domain.records import ProfileDraft
from mailbox_tui.domain.rules import check_profile


def p12(draft):
    return [(f.rule, f.field, f.severity.value) for f in check_profile(draft, ProfileContext()) if f.rule == "P12"]


@pytest.mark.parametrize("server_type", list(ServerType))
@pytest.mark.parametrize("value", [True, False])
def test_p12_yes_or_no_on_every_server_type(server_type, value):
    assert p12(imap_profile(server_type=server_type, move_undelivered=value)) == []


def test_p12_defaults_to_no():
    assert ProfileDraft().move_undelivered is False


@pytest.mark.parametrize("value", [None, 2, "yes", "x" * 1000])
def test_p12_anything_but_yes_or_no_is_an_error(value):
    assert p12(imap_profile(move_undelivered=value)) == [("P12", "move_undelivered", "error")]
