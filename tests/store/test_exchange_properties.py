"""Property-based tests of the exchange format (hypothesis), on real SQLite files.

- Any JSON or CSV input either imports whole or writes nothing (every row of every table is
  compared), and raises nothing but ImportFileError.
- Export then import round-trips exactly: into the same database (nothing changes) and into a
  fresh one (the same export comes out), with names full of formula characters, quotes, commas,
  and any script.
- The CSV cell codec: what export writes never starts a formula, and import reads back exactly
  the text that was exported, newlines and quotes included.

Example counts are modest so the suite stays fast on two cores.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from mailbox_tui.domain.text import email_key, natural_key, normalise_email
from mailbox_tui.store.database import Store
from mailbox_tui.store.exchange import (
    ImportFileError,
    export_csv,
    export_json,
    import_document,
    parse_json_document,
    read_document,
)
from mailbox_tui.store.exchange_format import COLUMNS, FORMULA_STARTS, SECTIONS, csv_guard, csv_unguard
from mailbox_tui.store.models import ALL_MODELS, AppUser, EmailServerProfile, Queue

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def fresh_store():
    """A new SQLite file per use (hypothesis runs many examples inside one test function)."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'x.db'}")
        try:
            yield store, Path(folder)
        finally:
            store.close()


def snapshot() -> dict:
    return {m._meta.table_name: list(m.select().order_by(*m._meta.get_primary_keys()).tuples()) for m in ALL_MODELS}


SEED = {
    "profiles": [{"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
                  "outgoingserverlocation": "smtp.example.com"}],
    "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
    "queues": [{"name": "Support", "emailaddress": "support@example.com", "owner": "alice@example.com"}],
    "mailboxes": [{"name": "Forward collector", "isforwardmailbox": True, "emailaddress": "forward@example.com",
                   "owner": "alice@example.com", "emailserverprofile": "Corporate IMAP",
                   "allowemailconnectortousecredentials": True, "username": "fwd", "password": "pw"}],
}


# ---------------------------------------------------------------- strategies: anything at all

TRICKY_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "=1+1", "+x", "-x", "@x", "'=x", "\t", "\r\n", "\x00", "a,b", 'a"b', "\u202e",
                     "\u200b", "\ufeff", "Corporate IMAP", "alice@example.com", "ALICE@EXAMPLE.COM", "Support",
                     "user:alice@example.com", "queue:Support", "ssl", "starttls", "none", "true", "false", "yes",
                     "993", "993.7", "1e400", "Infinity", "NaN", "9" * 50, "-5", "7", "42", "straße@example.com",
                     "strasse@example.com", "ab" * 32, "x" * 300]),
)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.integers(-3, 10),
    st.floats(allow_nan=True, allow_infinity=True), TRICKY_TEXT,
)
JSON_VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=6)
ALL_COLUMNS = sorted({c for cols in COLUMNS.values() for c in cols})


@st.composite
def rows(draw, section):
    keys = st.one_of(st.sampled_from(COLUMNS[section]), st.sampled_from(ALL_COLUMNS), st.text(max_size=8))
    row = draw(st.dictionaries(keys, st.one_of(SCALAR, SCALAR, JSON_VALUE), max_size=8))
    if draw(st.booleans()):  # often start from a valid row, so imports that succeed happen too
        base = dict(draw(st.sampled_from(SEED[section] or [{}])))
        base.update(row if draw(st.booleans()) else {})
        row = base
    if section == "mailboxes" and draw(st.booleans()):
        row["regarding"] = draw(st.one_of(st.just({"user": "alice@example.com"}), st.just({"queue": "Support"}),
                                          JSON_VALUE, TRICKY_TEXT))
    return row


DOCUMENTS = st.one_of(
    st.fixed_dictionaries({}, optional={s: st.lists(rows(s), max_size=3) for s in SECTIONS}),
    st.fixed_dictionaries({}, optional={s: JSON_VALUE for s in SECTIONS}),
    JSON_VALUE,
)


@st.composite
def json_bytes(draw) -> bytes:
    data = json.dumps(draw(DOCUMENTS), allow_nan=True).encode("utf-8")
    how = draw(st.sampled_from(["as is", "as is", "bom", "cut", "noise", "deep"]))
    if how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif how == "noise":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif how == "deep":
        depth = draw(st.sampled_from([500, 5000, 50_000]))
        data = b'{"users": [{"fullname": ' + b"[" * depth + b"]" * depth + b"}]}"
    return data


def _assert_whole_or_nothing(store, doc, before) -> None:
    report = import_document(store, doc)
    if report.errors:
        event("rows refused")
        assert not report.written
        assert snapshot() == before
        return
    event("imported")
    assert report.written
    # Whole: every row of a successful import is there (its natural key finds it).
    for row in doc.get("users") or []:
        normalised, _ = normalise_email(row["internalemailaddress"].strip())
        assert AppUser.get_or_none(AppUser.email_key == email_key(normalised)) is not None
    for row in doc.get("profiles") or []:
        assert EmailServerProfile.get_or_none(EmailServerProfile.name_key == natural_key(row["name"])) is not None
    for row in doc.get("queues") or []:
        assert Queue.get_or_none(Queue.name_key == natural_key(row["name"])) is not None


@FAST
@given(data=json_bytes())
def test_any_json_input_imports_whole_or_writes_nothing(data):
    with fresh_store() as (store, _):
        import_document(store, json.loads(json.dumps(SEED)))
        before = snapshot()
        try:
            doc = parse_json_document(data, "doc.json")
        except ImportFileError as exc:
            event("file refused")
            assert "\n" not in str(exc)
            assert snapshot() == before
            return
        _assert_whole_or_nothing(store, doc, before)


CSV_CELL = st.one_of(TRICKY_TEXT, st.text(alphabet=st.sampled_from('ab,"\n\r=+-@\'\t \x00é'), max_size=10))


@st.composite
def csv_files(draw) -> tuple[str, bytes]:
    section = draw(st.sampled_from(SECTIONS))
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMNS[section]), st.text(max_size=6)), min_size=0,
                           max_size=6))
    if draw(st.booleans()):
        header = list(COLUMNS[section])
    body = draw(st.lists(st.lists(CSV_CELL, max_size=len(header) + 1), max_size=3))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(body)
    data = out.getvalue().encode("utf-8")
    how = draw(st.sampled_from(["as is", "as is", "bom", "noise", "cut"]))
    if how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "noise":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    elif how == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    return section, data


@FAST
@given(csv_file=csv_files())
def test_any_csv_input_imports_whole_or_writes_nothing(csv_file):
    section, data = csv_file
    with fresh_store() as (store, folder):
        import_document(store, json.loads(json.dumps(SEED)))
        before = snapshot()
        path = folder / f"{section}.csv"
        path.write_bytes(data)
        try:
            doc = read_document(path)
        except ImportFileError as exc:
            event("file refused")
            assert "\n" not in str(exc)
            assert snapshot() == before
            return
        report = import_document(store, doc)
        event("rows refused" if report.errors else "imported")
        if report.errors:
            assert not report.written and snapshot() == before
        else:
            assert report.written


# ---------------------------------------------------------------- the CSV cell codec


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_csv_cell_round_trips_exactly_and_never_starts_a_formula(text):
    guarded = csv_guard(text)
    assert not guarded.startswith(FORMULA_STARTS)
    out = io.StringIO()
    csv.writer(out).writerow([guarded, "end"])
    (cell, end), = csv.reader(io.StringIO(out.getvalue()))
    assert end == "end" and csv_unguard(cell) == text


# ---------------------------------------------------------------- export then import


NAME_CHARS = st.one_of(
    st.sampled_from(list("=+-@'\",;:/ ()[]{}<>!?#%&*")),
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
)
NAMES = st.text(NAME_CHARS, min_size=1, max_size=30).map(str.strip).filter(bool)
LOCALS = st.one_of(st.from_regex(r"[A-Za-z0-9=+_'-][A-Za-z0-9=+_'-]{0,8}", fullmatch=True),
                   st.sampled_from(["straße", "strasse", "zoë", "ñandú", "=cmd", "+1", "-x", "o'brien"]))


def _email_key_of(address: str) -> str:
    normalised, problem = normalise_email(address)
    return email_key(normalised) if normalised else address


@st.composite
def organisations(draw) -> dict:
    """A valid organisation without secrets (passwords never leave in an export)."""
    emails = draw(st.lists(st.tuples(LOCALS, st.integers(0, 99)).map(lambda t: f"{t[0]}{t[1]}@example.com"),
                           min_size=1, max_size=4, unique_by=_email_key_of))
    assume(all(normalise_email(e)[1] is None for e in emails))
    names = draw(st.lists(NAMES, min_size=4, max_size=10, unique_by=natural_key))
    users = [{"fullname": names[i % len(names)], "internalemailaddress": e} for i, e in enumerate(emails)]
    profiles = [{"name": names[0], "servertype": 0, "incomingserverlocation": "https://mail.example.com/EWS",
                 "outgoingserverlocation": "https://mail.example.com/EWS", "incomingcredentialretrieval": 3,
                 "outgoingcredentialretrieval": 3},
                {"name": names[1], "servertype": 4, "incomingserverlocation": "imap.example.com",
                 "outgoingserverlocation": "smtp.example.com", "incomingtlsmode": "starttls"}]
    queues = [{"name": names[2], "owner": emails[0], "emailaddress": f"queue{draw(st.integers(0, 9))}@example.com"}]
    forward = [{"name": names[3], "isforwardmailbox": True, "emailaddress": "collector@example.com",
                "owner": emails[-1], "emailserverprofile": names[0], "processanddeleteemails": True}]
    for name in names[4:]:
        forward.append(dict(forward[0], name=name))
    return {"profiles": profiles, "users": users, "queues": queues, "mailboxes": forward}


def _records(text: str) -> dict:
    doc = json.loads(text)
    return {s: sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in doc[s]) for s in SECTIONS}


def _export_json() -> str:
    out = io.StringIO()
    export_json(out)
    return out.getvalue()


@SLOW
@given(org=organisations())
def test_export_then_import_round_trips_exactly(org):
    with tempfile.TemporaryDirectory() as keep:
        csv_folder = Path(keep) / "csv"
        with fresh_store() as (store, _):
            report = import_document(store, org)
            assert report.written, report.findings
            exported = _export_json()
            export_csv(csv_folder)
            before = snapshot()
            for doc in (json.loads(exported), read_document(csv_folder)):  # into the same database
                again = import_document(store, doc)
                assert again.written and not again.errors, again.findings
                assert sum(again.created.values()) == sum(again.updated.values()) == 0
                assert snapshot() == before
        for source in ("json", "csv"):  # into a fresh database: the same export comes out
            with fresh_store() as (store, _):
                doc = json.loads(exported) if source == "json" else read_document(csv_folder)
                report = import_document(store, doc)
                assert report.written, report.findings
                assert _records(_export_json()) == _records(exported), source
