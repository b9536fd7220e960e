"""Another admin's app, in a process of its own: runs the bulk writes the app runs, one command at a time.

    python tests/support/bulk_writer.py URL

Reads one JSON command a line and answers one JSON line each (the first line says its backend pid):
{"do": "preview", "ids": [...]} keeps the Apply Default Email Settings preview (as the dialog shows it);
{"do": "apply", "ids": [...]} applies it with that preview (as the app does once confirmed);
{"do": "approve" | "reject" | "activate" | "deactivate", "ids": [...]} (approve and reject may carry
"seen": {id: the address the admin saw}); {"do": "begin"} opens a
transaction the next writes run in, held until {"do": "commit"}. A refusal answers {"refused": message}.
"""

from __future__ import annotations

import json
import sys


def main(url: str) -> None:
    from mailbox_tui.domain.findings import RuleViolation
    from mailbox_tui.domain.options import RecordState
    from mailbox_tui.store import services
    from mailbox_tui.store.database import Store, StoreError

    store = Store(url)
    store.actor = "other-admin@example.com"
    say({"pid": store.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]})
    preview, outer = None, None
    for line in sys.stdin:
        command = json.loads(line)
        what, ids = command["do"], command.get("ids", [])
        try:
            if what == "preview":
                preview = services.preview_default_settings(store, ids)
                answer = {"changes": {p.mailbox_id: [c[0] for c in p.changes] for p in preview}}
            elif what == "apply":
                answer = {"count": services.apply_default_settings(store, ids, preview)}
            elif what in ("approve", "reject"):
                seen = {int(k): v for k, v in command["seen"].items()} if "seen" in command else None
                answer = {"count": services.set_approval(store, ids, what == "approve", seen)}
            elif what in ("activate", "deactivate"):
                state = RecordState.ACTIVE if what == "activate" else RecordState.INACTIVE
                answer = {"count": services.set_mailbox_state(store, ids, state)}
            elif what == "begin":
                outer = store.transaction()
                outer.__enter__()
                answer = {}
            elif what == "commit":
                outer.__exit__(None, None, None)
                answer = {}
            else:
                answer = {"refused": f"unknown command {what!r}"}
        except (RuleViolation, StoreError) as exc:
            answer = {"refused": str(exc)}
        say(answer)
    store.close()


def say(answer: dict) -> None:
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
