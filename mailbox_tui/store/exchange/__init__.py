"""Import and export in the exchange format (docs/RULES.md, "Exchange format"), by job:

- read.py: a JSON document (json_stream.py), a folder of CSV files or one CSV file, read a row
  at a time and checked for shape, within limits.py;
- rows.py: one row's values, read field by field into drafts;
- plan.py: every row judged by the rules against the database and the rest of the file
  (planned_facts.py: the facts it judges by), before anything is written;
- write.py: the plan written in one transaction, or nothing;
- export.py: the whole database, streamed a page at a time.

Import is all-or-nothing: nothing is written unless no row has an error.
"""

from .export import RECORDS, export_csv, export_json, mailbox_records, profile_records, queue_records, user_records
from .plan import ImportPlan, ImportReport, PlannedMailbox
from .read import ImportFileError, Source, open_source, parse_json_document, read_document, require_document_shape
from .write import import_document, write_plan

__all__ = [
    "RECORDS", "ImportFileError", "ImportPlan", "ImportReport", "PlannedMailbox", "export_csv", "export_json",
    "import_document", "mailbox_records", "open_source", "parse_json_document", "profile_records", "queue_records",
    "read_document", "require_document_shape", "Source", "user_records", "write_plan",
]
