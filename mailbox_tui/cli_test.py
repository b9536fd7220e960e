"""`mailbox-tui test`: Test & Enable from the command line. Progress on stderr, results on stdout; 0 when
every mailbox succeeded, 1 when any failed or was not run (or what it names does not exist), 2 usage."""

from __future__ import annotations

import sys

from . import cli_common as cli
from .domain.outside_text import visible


def _test_selection(args) -> tuple[list[int] | None, str, int]:
    """The mailbox ids `mailbox-tui test` covers; or None, the reason and the exit status: a usage
    error (2) when the command does not say which, a refusal (1) when what it names does not exist."""
    from .mailtest import selection

    chosen = [args.all, args.failed, args.profile is not None, bool(args.emails)]
    if sum(map(bool, chosen)) != 1:
        return None, "say which mailboxes to test: --all, --failed, --profile NAME, or EMAIL addresses", cli.EXIT_USAGE
    if args.all:
        return selection.active_mailboxes(), "", cli.EXIT_OK
    if args.failed:
        return selection.failed_mailboxes(), "", cli.EXIT_OK
    if args.profile is not None:
        ids = selection.profile_mailboxes(args.profile)
        if ids is None:
            return None, f"there is no server profile named {args.profile!r}.", cli.EXIT_FINDINGS
        return ids, "", cli.EXIT_OK
    ids, missing = selection.mailboxes_by_email(args.emails)
    if missing:
        return None, f"no mailbox has the address {', '.join(missing)}.", cli.EXIT_FINDINGS
    return ids, "", cli.EXIT_OK


def _test_progress(progress) -> None:
    from .domain.options import TestStatus

    outcome = progress.outcome
    if outcome is None:
        print(f"Testing {progress.total} mailbox(es)…", file=sys.stderr)
        return
    result = "Failure" if outcome.failed else "Success" if outcome.tested else "Not Run"
    first = next((c for c in outcome.checks.values() if c.status == TestStatus.FAILURE), None)
    why = f": {first.direction} failed at {first.step}" if first else ""
    print(f"[{progress.done}/{progress.total}] {visible(outcome.name)} <{visible(outcome.email)}> {result}{why}",
          file=sys.stderr)


def _sent_test_message(outcome) -> bool:
    """Whether this mailbox's outgoing test sent a real message (Exchange through Graph or EWS,
    --send-test-message)."""
    from .domain.options import TestStatus

    check = outcome.checks.get("outgoing")
    probe = check.probe if check is not None else None
    return (probe is not None and check.status == TestStatus.SUCCESS and probe.protocol in ("graph", "ews")
            and probe.message.startswith("Sent a test message"))


def cmd_test(args) -> int:
    from .domain.options import TestStatus
    from .mailtest.runner import TestRunner

    with cli._open_store(args) as store:
        cli._key_warning(store)
        ids, problem, status = _test_selection(args)
        if ids is None:
            print(f"mailbox-tui: error: {problem}", file=sys.stderr)
            return status
        report = TestRunner(store, concurrency=args.concurrency, deadline=args.deadline,
                            on_progress=_test_progress,
                            send_test_message=getattr(args, "send_test_message", False)).run(ids)
    report.outcomes.sort(key=lambda o: (o.name.casefold(), o.mailbox_id))
    if getattr(args, "json", False):
        cli._print(args, report.as_dict(), "")
    else:
        for o in report.outcomes:
            statuses = ", ".join(f"{c.direction} {TestStatus.label_of(c.status)}" for c in o.checks.values())
            print(f"{'Failure' if o.failed else 'Success' if o.tested else 'Not Run':8} {visible(o.name)} "
                  f"<{visible(o.email)}>: {statuses}")
            for alert in o.alerts:
                print(f"    {alert.level} ({alert.step}): {visible(alert.message)}")
        for skipped in report.not_run:
            print(f"{'Not Run':8} {visible(skipped.label)}: {skipped.reason}")
        sent = sum(1 for o in report.outcomes if _sent_test_message(o))
        if sent or getattr(args, "send_test_message", False):
            print(f"Test messages sent (Microsoft Graph or EWS, each mailbox to itself): {sent}.")
        print(f"{len(report.outcomes)} tested: {report.successes} succeeded, {report.failures} failed, "
              f"{report.untested + len(report.not_run)} not tested, in {report.elapsed:.1f} s.")
    return cli.EXIT_OK if report.ok else cli.EXIT_FINDINGS
