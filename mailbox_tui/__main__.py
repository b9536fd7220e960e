from mailbox_tui.cli import main

raise SystemExit(main())
