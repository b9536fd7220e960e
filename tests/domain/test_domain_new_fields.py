"""The fields added through the declaration: P12 Move Undelivered Emails (profile) and M19 Process
Email From (mailbox), judged by the domain rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from domain_builders import imap_profile, mailbox_context, user_mailbox

from mailbox_tui.domain.context import ProfileContext
from mailbox_tui.domain.options import ServerType
from mailbox_tui.domain.records import ProfileDraft
from mailbox_tui.domain.rules import check_mailbox, check_profile


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


# ---------------------------------------------------------------- M19 Process Email From

NOW = datetime(2026, 6, 15, 12, 0)


def m19(when, now=NOW):
    draft = user_mailbox(process_after=when)
    return [(f.rule, f.field, f.severity.value) for f in check_mailbox(draft, mailbox_context(now=now))
            if f.rule == "M19"]


@pytest.mark.parametrize("when", [None, NOW, NOW - timedelta(days=30), NOW - timedelta(minutes=1)])
def test_m19_empty_or_within_the_last_30_days_is_quiet(when):
    assert m19(when) == []


def test_m19_more_than_30_days_ago_is_a_warning():
    assert m19(NOW - timedelta(days=30, minutes=1)) == [("M19", "process_after", "warning")]


def test_m19_in_the_future_is_an_error():
    assert m19(NOW + timedelta(minutes=1)) == [("M19", "process_after", "error")]


def test_m19_without_a_given_time_judges_by_the_clock():
    assert m19(datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=1), now=None) == [
        ("M19", "process_after", "error")]


@pytest.mark.parametrize("value", ["2026-01-01", 12345])
def test_m19_a_value_that_is_no_date_time_is_an_error(value):
    assert m19(value) == [("M19", "process_after", "error")]
