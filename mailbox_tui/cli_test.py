"""`mailbox-tui test`: Test & Enable from the command line. Progress on stderr, results on stdout; 0 when
every mailbox succeeded, 1 when any failed or was not run (or what it names does not exist), 2 usage.
The human output is in the admin's language (explanations stored in English are shown with i18n.said(), the
servers' answers as they came); --json stays English."""

from __future__ import annotations

import sys

from . import cli_common as cli
from .domain.outside_text import visible
from .i18n import _, ngettext, number, said, shown


def _test_selection(args) -> tuple[list[int] | None, str, int]:
    """The mailbox ids `mailbox-tui test` covers; or None, the reason and the exit status: a usage
    error (2) when the command does not say which, a refusal (1) when what it names does not exist."""
    from .mailtest import selection

    chosen = [args.all, args.failed, args.profile is not None, bool(args.emails)]
    if sum(map(bool, chosen)) != 1:
        return (None, _("say which mailboxes to test: --all, --failed, --profile NAME, or EMAIL addresses"),
                cli.EXIT_USAGE)
    if args.all:
        return selection.active_mailboxes(), "", cli.EXIT_OK
    if args.failed:
        return selection.failed_mailboxes(), "", cli.EXIT_OK
    if args.profile is not None:
        ids = selection.profile_mailboxes(args.profile)
        if ids is None:
            return None, _("there is no server profile named {name}.").format(name=repr(args.profile)), cli.EXIT_FINDINGS
        return ids, "", cli.EXIT_OK
    ids, missing = selection.mailboxes_by_email(args.emails)
    if missing:
        return None, _("no mailbox has the address {email}.").format(email=", ".join(missing)), cli.EXIT_FINDINGS
    return ids, "", cli.EXIT_OK


def _result(outcome) -> str:
    """Failure, Success or Not Run, in the admin's language (the words of TestStatus)."""
    from .domain.options import TestStatus

    return TestStatus(TestStatus.FAILURE if outcome.failed else TestStatus.SUCCESS if outcome.tested
                      else TestStatus.NOT_RUN).shown_label


def _direction(name: str) -> str:
    """incoming, outgoing or act (as --json names them), in the admin's language."""
    return shown(name)


def _test_progress(progress) -> None:
    from .domain.options import TestStatus

    outcome = progress.outcome
    if outcome is None:
        print(ngettext("Testing {n} mailbox…", "Testing {n} mailboxes…", progress.total).format(
            n=number(progress.total)), file=sys.stderr)
        return
    line = f"[{progress.done}/{progress.total}] {visible(outcome.name)} <{visible(outcome.email)}> {_result(outcome)}"
    first = next((c for c in outcome.checks.values() if c.status == TestStatus.FAILURE), None)
    if first:
        line = _("{line}: {direction} failed at {step}").format(line=line, direction=_direction(first.direction),
                                                              step=said(first.step))
    print(line, file=sys.stderr)


def _sent_test_message(outcome) -> bool:
    """Whether this mailbox's outgoing test sent a real message (Exchange through Graph or EWS,
    --send-test-message)."""
    from .domain.options import TestStatus

    check = outcome.checks.get("outgoing")
    probe = check.probe if check is not None else None
    return (probe is not None and check.status == TestStatus.SUCCESS and probe.protocol in ("graph", "ews")
            and str(probe.message).startswith("Sent a test message"))


def cmd_test(args) -> int:
    from .domain.options import TestStatus
    from .mailtest.runner import TestRunner

    with cli._open_store(args) as store:
        cli._key_warning(store)
        ids, problem, status = _test_selection(args)
        if ids is None:
            print(_("mailbox-tui: error: {problem}").format(problem=problem), file=sys.stderr)
            return status
        report = TestRunner(store, concurrency=args.concurrency, deadline=args.deadline,
                            on_progress=_test_progress,
                            send_test_message=getattr(args, "send_test_message", False)).run(ids)
    report.outcomes.sort(key=lambda o: (o.name.casefold(), o.mailbox_id))
    if getattr(args, "json", False):
        cli._print(args, report.as_dict(), "")
    else:
        width = max(8, *(len(TestStatus(s).shown_label) for s in TestStatus))
        for o in report.outcomes:
            statuses = ", ".join(f"{_direction(c.direction)} {TestStatus(c.status).shown_label}"
                                 for c in o.checks.values())
            print(f"{_result(o):{width}} {visible(o.name)} <{visible(o.email)}>: {statuses}")
            for alert in o.alerts:
                print(f"    {shown(alert.level)} ({said(alert.step)}): {visible(said(alert.message))}")
        for skipped in report.not_run:
            print(f"{TestStatus(TestStatus.NOT_RUN).shown_label:{width}} {visible(skipped.label)}: "
                  f"{shown(skipped.reason)}")
        sent = sum(1 for o in report.outcomes if _sent_test_message(o))
        if sent or getattr(args, "send_test_message", False):
            print(_("Test messages sent (Microsoft Graph or EWS, each mailbox to itself): {n}.").format(n=number(sent)))
        not_tested = report.untested + len(report.not_run)
        print(ngettext("{n} tested: {succeeded} succeeded, {failed} failed, {not_tested} not tested, in {seconds} s.",
                       "{n} tested: {succeeded} succeeded, {failed} failed, {not_tested} not tested, in {seconds} s.",
                       len(report.outcomes)).format(
            n=number(len(report.outcomes)), succeeded=number(report.successes), failed=number(report.failures),
            not_tested=number(not_tested), seconds=_seconds(report.elapsed)))
    return cli.EXIT_OK if report.ok else cli.EXIT_FINDINGS


def _seconds(value: float) -> str:
    """Seconds with one decimal, as the admin's language writes it (3.2 / 3,2)."""
    from .i18n import SWEDISH, current

    text = f"{value:.1f}"
    return text.replace(".", ",") if current() == SWEDISH else text
