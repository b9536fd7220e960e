"""Imports read a row at a time (issue 20, item 5): the streaming reader gives exactly the rows that
json.load and the csv module give, words a broken file as json.loads does, refuses what is not a
regular file, a value or a file too large, and a file that changes while it is read, changing
nothing. The plan's mailboxes live in a temporary file and come back exactly as planned."""

from __future__ import annotations

import csv
import io
import json
import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbox_tui.store.exchange import ImportFileError, import_document, open_source, parse_json_document, read
from mailbox_tui.store.exchange import json_stream, limits
from mailbox_tui.store.exchange.plan import ImportPlan
from mailbox_tui.store.exchange_format import SECTIONS, csv_unguard
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.models import AppUser, Mailbox

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- the streaming reader gives what json.load gives

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 12, 10 ** 12), TEXT,
                   st.floats(allow_nan=False, allow_infinity=False, width=32))
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)
ROW = st.dictionaries(TEXT, VALUE, max_size=5)
DOCUMENT = st.dictionaries(st.sampled_from(SECTIONS), st.one_of(st.none(), st.lists(ROW, max_size=6)), max_size=4)


def _dumped(doc: dict, indent, ascii_only: bool, bom: bool) -> bytes:
    data = json.dumps(doc, indent=indent, ensure_ascii=ascii_only).encode("utf-8")
    return (b"\xef\xbb\xbf" if bom else b"") + data


@PROPERTY
@given(doc=DOCUMENT, indent=st.sampled_from([None, 0, 2, "\t"]), ascii_only=st.booleans(), bom=st.booleans(),
       chunk=st.sampled_from([1, 2, 3, 7, 64, 1 << 20]))
def test_the_streaming_reader_gives_the_rows_json_load_gives(monkeypatch, doc, indent, ascii_only, bom, chunk):
    """Any section order, whitespace, escapes, a byte-order mark, and read a few bytes at a time so
    that every row, string and number is cut by a buffer's end somewhere."""
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    data = _dumped(doc, indent, ascii_only, bom)
    assert parse_json_document(data, "doc.json") == json.loads(data.decode("utf-8-sig"))


@PROPERTY
@given(doc=DOCUMENT, cut=st.floats(0, 1), chunk=st.sampled_from([1, 5, 1 << 20]))
def test_a_truncated_document_is_refused_with_the_words_json_loads_uses(monkeypatch, doc, cut, chunk):
    monkeypatch.setattr(json_stream, "CHUNK", chunk)
    data = _dumped(doc, 1, False, False)
    data = data[:int(len(data) * cut)]
    try:
        json.loads(data.decode("utf-8", errors="ignore"))
    except json.JSONDecodeError as exc:
        expected = f"doc.json is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    else:
        return  # a cut that leaves a whole document (or nothing to compare): not this property
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return  # cut inside a character: refused as not UTF-8, another test's matter
    with pytest.raises(ImportFileError) as err:
        parse_json_document(data, "doc.json")
    if data.lstrip()[:1] in (b"{", b""):  # a document that starts as the exchange format's object
        assert str(err.value) == expected


CELL = st.text(alphabet=string.ascii_letters + ' ,"\n\r=+-@\'\té', max_size=8)


@PROPERTY
@given(header=st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6), min_size=1, max_size=5,
                       unique=True),
       data=st.data(), bom=st.booleans())
def test_the_csv_reader_gives_the_rows_the_csv_module_gives(tmp_path_factory, header, data, bom):
    body = data.draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(body)
    path = tmp_path_factory.mktemp("csv") / "users.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    expected = [{k: None if v == "" else csv_unguard(v) for k, v in row.items()}
                for row in csv.DictReader(io.StringIO(out.getvalue(), newline=""))]
    assert read.read_document(path) == {"users": expected}


# -- what is refused, in one sentence, before anything is written


def test_a_device_a_fifo_a_link_to_a_device_and_a_folder_in_place_of_a_csv_file_are_refused(tmp_path):
    fifo = tmp_path / "doc.json"
    os.mkfifo(fifo)
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    folder = tmp_path / "csv"
    (folder / "users.csv").mkdir(parents=True)
    for path, what in (("/dev/zero", "a character device"), (fifo, "a FIFO"), (link, "a character device"),
                       (folder, "a folder")):
        with pytest.raises(ImportFileError) as err:
            open_source(path)
        assert what in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_a_csv_row_with_fewer_or_more_values_than_its_header_is_refused_with_its_number(tmp_path):
    path = tmp_path / "users.csv"
    for body, values in (("A,a@example.com\nB\n", "1 value"), ("A,a@example.com\nB,b@example.com,x\n", "3 values")):
        path.write_text("fullname,internalemailaddress\n" + body)
        with pytest.raises(ImportFileError) as err:
            read.read_document(path)
        assert str(err.value) == f"{path}: row 2 has {values}, but its header has 2 columns."


def test_a_value_over_the_limit_is_refused_and_one_at_the_limit_is_read(tmp_path):
    big = "a" * limits.MAX_VALUE_CHARS
    assert parse_json_document(json.dumps({"users": [{"fullname": big}]}).encode())["users"][0]["fullname"] == big
    with pytest.raises(ImportFileError) as err:
        parse_json_document(json.dumps({"users": [{"fullname": big + "a"}]}).encode(), "doc.json")
    assert str(err.value) == ("doc.json: users[1]['fullname'] has a value longer than 1,048,576 characters, more "
                              "than any field holds.")
    path = tmp_path / "users.csv"
    path.write_text("fullname,internalemailaddress\n" + big + "a,a@example.com\n")
    with pytest.raises(ImportFileError) as err:
        read.read_document(path)
    assert "has a value longer than 1,048,576 characters" in str(err.value)


def test_a_row_larger_than_the_limit_is_refused():
    row = {f"f{i}": "a" * 1_000_000 for i in range(5)}
    with pytest.raises(ImportFileError) as err:
        parse_json_document(json.dumps({"users": [row]}).encode(), "doc.json")
    assert str(err.value) == "doc.json: users[1] is larger than 4 MiB, more than any record holds."


def test_a_file_over_the_input_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_INPUT_BYTES", 1000)
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"users": [{"fullname": "x" * 2000}]}))
    with pytest.raises(ImportFileError) as err:
        open_source(path)
    assert str(err.value) == f"{path} is larger than 1,000 bytes, more than an import reads; split it into smaller files."


def test_a_row_nested_too_deeply_is_refused():
    data = b'{"users": [{"fullname": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    with pytest.raises(ImportFileError) as err:
        parse_json_document(data, "doc.json")
    assert str(err.value) == "doc.json is nested too deeply to be an exchange document."


def test_a_section_named_twice_is_refused():
    with pytest.raises(ImportFileError) as err:
        parse_json_document(b'{"users": [], "users": []}', "doc.json")
    assert str(err.value) == "doc.json: section 'users' appears twice in the document."


# -- a file that changes while it is read


def _users(n: int, start: int = 0) -> list[dict]:
    return [{"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"} for i in range(start, start + n)]


def _snapshot() -> tuple:
    return (list(AppUser.select().tuples()), list(Mailbox.select().tuples()), list(ChangeEntry.select().tuples()))


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_a_file_that_changes_while_it_is_read_is_refused_and_nothing_is_written(store, tmp_path, monkeypatch, kind):
    if kind == "json":
        path = tmp_path / "doc.json"
        path.write_text(json.dumps({"users": _users(3), "mailboxes": []}))
    else:
        path = tmp_path / "users.csv"
        path.write_text("fullname,internalemailaddress\n" + "".join(
            f"{u['fullname']},{u['internalemailaddress']}\n" for u in _users(3)))
    before = _snapshot()
    original = ImportPlan._plan_queues

    def then_the_file_changes(plan):
        with path.open("a") as fh:  # someone writes to it while the import reads it
            fh.write(" ")
        original(plan)

    monkeypatch.setattr(ImportPlan, "_plan_queues", then_the_file_changes)
    with open_source(path) as source, pytest.raises(ImportFileError) as err:
        import_document(store, source)
    assert str(err.value) == (f"{path} changed while it was read; nothing was written. Import it again once nothing "
                              "writes to it.")
    assert _snapshot() == before


# -- sections out of order, and the plan kept in a temporary file


def test_sections_in_any_order_import_as_in_order(store, tmp_path):
    rows = {"profiles": [], "users": _users(2),
            "mailboxes": [{"regarding": {"user": "user0@example.com"}, "username": "u0"}]}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"mailboxes": rows["mailboxes"], "users": rows["users"]}))
    with open_source(path) as source:
        report = import_document(store, source)
    assert report.written and report.created["users"] == 2, report.findings
    assert Mailbox.get(Mailbox.email == "user0@example.com").username == "u0"


def test_a_planned_mailbox_comes_back_from_its_file_as_it_was_planned(store):
    """Its draft, its edits, and the row each edited field came from (findings are reported there)."""
    doc = {"users": _users(2),
           "mailboxes": [{"regarding": {"user": "user1@example.com"}, "username": "first", "incomingemaildeliverymethod": 2},
                         {"regarding": {"user": "user1@example.com"}, "username": "second"}]}
    plan = ImportPlan(store, doc)
    plan.plan()
    planned = plan.mailboxes[("user", "user1@example.com")]
    assert (planned.draft.name, planned.draft.username, planned.draft.incoming) == ("User 1", "second", 2)
    assert planned.edits == {"username": "second", "incoming": 2}
    assert planned.origin("incoming") == ("mailboxes", 1) and planned.origin("username") == ("mailboxes", 2)
    assert plan.planned.spill.size > 0 and [key for key in plan.mailboxes] == [("user", "user0@example.com"),
                                                                               ("user", "user1@example.com")]
    plan.close()


def test_no_typed_password_is_ever_in_clear_in_the_plans_temporary_file(store):
    doc = {"users": _users(1), "mailboxes": [{"regarding": {"user": "user0@example.com"}, "username": "u",
                                               "password": "Correct-Horse-Battery-Staple"}]}
    plan = ImportPlan(store, doc)
    plan.plan()
    assert plan.mailboxes[("user", "user0@example.com")].draft.password.new == "Correct-Horse-Battery-Staple"
    plan.planned.spill.fh.flush()
    with open(f"/proc/self/fd/{plan.planned.spill.fh.fileno()}", "rb") as fh:
        assert b"Correct-Horse" not in fh.read()
    plan.close()


def test_a_new_users_mailbox_is_written_as_judging_kept_it_or_as_built_again(store, tmp_path):
    """Judging keeps a new user's mailbox as its row to insert (not for a dry run); a plan without
    kept rows writes the same mailboxes, built again from the temporary file."""
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import write

    doc = {"profiles": [{"name": "Corp", "servertype": 4, "incomingserverlocation": "imap.example.com",
                         "outgoingserverlocation": "smtp.example.com"}],
           "users": _users(3),
           "mailboxes": [{"regarding": {"user": f"user{i}@example.com"}, "emailserverprofile": "Corp",
                          "allowemailconnectortousecredentials": True, "username": f"u{i}", "password": f"pw-{i}é",
                          "incomingemaildeliverymethod": 2} for i in range(2)]}
    kept = ImportPlan(store, doc, build_rows=True)
    kept.plan()
    assert [kept.planned.kept_row(p) is not None for p in range(3)] == [True, True, True]
    assert ImportPlan(store, doc).planned.kept_row(0) is None  # a dry run's plan keeps none
    kept.close()

    def written(s) -> list[tuple]:
        return sorted((m.name, m.email, m.owner_id == m.regarding_user_id, m.profile.name if m.profile else None,
                       m.allow_credentials, m.username, m.incoming, m.outgoing, m.approval,
                       s.keyring.decrypt(m.password_enc) if m.password_enc else None)
                      for m in Mailbox.select())

    assert import_document(store, doc).written
    first = written(store)
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    plan = ImportPlan(other, doc, build_rows=False)
    plan.plan()
    with other.transaction():
        write.write_plan(plan)
    plan.close()
    assert written(other) == first and first[0][-1] == "pw-0é" and first[2][-1] is None
    other.close()


def test_users_keys_are_kept_as_fingerprints_in_arrays_that_grow():
    from mailbox_tui.store.exchange.keys import KeyIndex

    index = KeyIndex(capacity=4)
    for i in range(20_000):
        index[f"user{i}@example.com"] = i
    index["user7@example.com"] = 70  # set again: replaced, not added
    assert len(index) == 20_000 and index["user7@example.com"] == 70 and index["user19999@example.com"] == 19_999
    assert "user20000@example.com" not in index and index.get("") is None
    with pytest.raises(KeyError):
        index["nobody@example.com"]
