from mailbox_tui.cli import entry

raise SystemExit(entry())
