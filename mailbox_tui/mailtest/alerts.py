"""The alerts Test & Enable writes for a failed direction (issue 26: stored in English, shown in the admin's
language). Each names its direction in its first words and says the cause (domain/failures.describe's words,
written out) before the server's answer, which always comes last: so a stored alert reads back into the
admin's language by its template, and nothing a server answered is ever taken for our words."""

from __future__ import annotations

from ..domain.failures import MAILBOX, PERMANENT, SERVER, TRANSIENT, Cause
from ..i18n import N_, say
from .directions import ACT, INCOMING, OUTGOING

ALERTS = {
    ("plain", INCOMING, TRANSIENT, SERVER): N_("Incoming email: {why} Transient failure ({cause}, the "
                                               "server's)."),
    ("plain", INCOMING, TRANSIENT, MAILBOX): N_("Incoming email: {why} Transient failure ({cause}, this "
                                                "mailbox's)."),
    ("plain", INCOMING, PERMANENT, SERVER): N_("Incoming email: {why} Permanent failure ({cause}, the "
                                               "server's)."),
    ("plain", INCOMING, PERMANENT, MAILBOX): N_("Incoming email: {why} Permanent failure ({cause}, this "
                                                "mailbox's)."),
    ("plain", OUTGOING, TRANSIENT, SERVER): N_("Outgoing email: {why} Transient failure ({cause}, the "
                                               "server's)."),
    ("plain", OUTGOING, TRANSIENT, MAILBOX): N_("Outgoing email: {why} Transient failure ({cause}, this "
                                                "mailbox's)."),
    ("plain", OUTGOING, PERMANENT, SERVER): N_("Outgoing email: {why} Permanent failure ({cause}, the "
                                               "server's)."),
    ("plain", OUTGOING, PERMANENT, MAILBOX): N_("Outgoing email: {why} Permanent failure ({cause}, this "
                                                "mailbox's)."),
    ("plain", ACT, TRANSIENT, SERVER): N_("Appointments, contacts and tasks: {why} Transient failure ({cause}, "
                                          "the server's)."),
    ("plain", ACT, TRANSIENT, MAILBOX): N_("Appointments, contacts and tasks: {why} Transient failure ({cause},"
                                           " this mailbox's)."),
    ("plain", ACT, PERMANENT, SERVER): N_("Appointments, contacts and tasks: {why} Permanent failure ({cause}, "
                                          "the server's)."),
    ("plain", ACT, PERMANENT, MAILBOX): N_("Appointments, contacts and tasks: {why} Permanent failure ({cause},"
                                           " this mailbox's)."),
    ("deferred", INCOMING, TRANSIENT, SERVER): N_("Incoming email, {where}, not tested: {why} Transient failure"
                                                  " ({cause}, the server's)."),
    ("deferred", INCOMING, TRANSIENT, MAILBOX): N_("Incoming email, {where}, not tested: {why} Transient "
                                                   "failure ({cause}, this mailbox's)."),
    ("deferred", INCOMING, PERMANENT, SERVER): N_("Incoming email, {where}, not tested: {why} Permanent failure"
                                                  " ({cause}, the server's)."),
    ("deferred", INCOMING, PERMANENT, MAILBOX): N_("Incoming email, {where}, not tested: {why} Permanent "
                                                   "failure ({cause}, this mailbox's)."),
    ("deferred", OUTGOING, TRANSIENT, SERVER): N_("Outgoing email, {where}, not tested: {why} Transient failure"
                                                  " ({cause}, the server's)."),
    ("deferred", OUTGOING, TRANSIENT, MAILBOX): N_("Outgoing email, {where}, not tested: {why} Transient "
                                                   "failure ({cause}, this mailbox's)."),
    ("deferred", OUTGOING, PERMANENT, SERVER): N_("Outgoing email, {where}, not tested: {why} Permanent failure"
                                                  " ({cause}, the server's)."),
    ("deferred", OUTGOING, PERMANENT, MAILBOX): N_("Outgoing email, {where}, not tested: {why} Permanent "
                                                   "failure ({cause}, this mailbox's)."),
    ("deferred", ACT, TRANSIENT, SERVER): N_("Appointments, contacts and tasks, {where}, not tested: {why} "
                                             "Transient failure ({cause}, the server's)."),
    ("deferred", ACT, TRANSIENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, not tested: {why} "
                                              "Transient failure ({cause}, this mailbox's)."),
    ("deferred", ACT, PERMANENT, SERVER): N_("Appointments, contacts and tasks, {where}, not tested: {why} "
                                             "Permanent failure ({cause}, the server's)."),
    ("deferred", ACT, PERMANENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, not tested: {why} "
                                              "Permanent failure ({cause}, this mailbox's)."),
    ("failed", INCOMING, TRANSIENT, SERVER): N_("Incoming email, {where}, failed at {step}: {why} Transient "
                                                "failure ({cause}, the server's)."),
    ("failed", INCOMING, TRANSIENT, MAILBOX): N_("Incoming email, {where}, failed at {step}: {why} Transient "
                                                 "failure ({cause}, this mailbox's)."),
    ("failed", INCOMING, PERMANENT, SERVER): N_("Incoming email, {where}, failed at {step}: {why} Permanent "
                                                "failure ({cause}, the server's)."),
    ("failed", INCOMING, PERMANENT, MAILBOX): N_("Incoming email, {where}, failed at {step}: {why} Permanent "
                                                 "failure ({cause}, this mailbox's)."),
    ("failed", OUTGOING, TRANSIENT, SERVER): N_("Outgoing email, {where}, failed at {step}: {why} Transient "
                                                "failure ({cause}, the server's)."),
    ("failed", OUTGOING, TRANSIENT, MAILBOX): N_("Outgoing email, {where}, failed at {step}: {why} Transient "
                                                 "failure ({cause}, this mailbox's)."),
    ("failed", OUTGOING, PERMANENT, SERVER): N_("Outgoing email, {where}, failed at {step}: {why} Permanent "
                                                "failure ({cause}, the server's)."),
    ("failed", OUTGOING, PERMANENT, MAILBOX): N_("Outgoing email, {where}, failed at {step}: {why} Permanent "
                                                 "failure ({cause}, this mailbox's)."),
    ("failed", ACT, TRANSIENT, SERVER): N_("Appointments, contacts and tasks, {where}, failed at {step}: {why} "
                                           "Transient failure ({cause}, the server's)."),
    ("failed", ACT, TRANSIENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, failed at {step}: {why}"
                                            " Transient failure ({cause}, this mailbox's)."),
    ("failed", ACT, PERMANENT, SERVER): N_("Appointments, contacts and tasks, {where}, failed at {step}: {why} "
                                           "Permanent failure ({cause}, the server's)."),
    ("failed", ACT, PERMANENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, failed at {step}: {why}"
                                            " Permanent failure ({cause}, this mailbox's)."),
    ("answered", INCOMING, TRANSIENT, SERVER): N_("Incoming email, {where}, failed at {step}: {why} Transient "
                                                  "failure ({cause}, the server's). Server answered: {answer}"),
    ("answered", INCOMING, TRANSIENT, MAILBOX): N_("Incoming email, {where}, failed at {step}: {why} Transient "
                                                   "failure ({cause}, this mailbox's). Server answered: "
                                                   "{answer}"),
    ("answered", INCOMING, PERMANENT, SERVER): N_("Incoming email, {where}, failed at {step}: {why} Permanent "
                                                  "failure ({cause}, the server's). Server answered: {answer}"),
    ("answered", INCOMING, PERMANENT, MAILBOX): N_("Incoming email, {where}, failed at {step}: {why} Permanent "
                                                   "failure ({cause}, this mailbox's). Server answered: "
                                                   "{answer}"),
    ("answered", OUTGOING, TRANSIENT, SERVER): N_("Outgoing email, {where}, failed at {step}: {why} Transient "
                                                  "failure ({cause}, the server's). Server answered: {answer}"),
    ("answered", OUTGOING, TRANSIENT, MAILBOX): N_("Outgoing email, {where}, failed at {step}: {why} Transient "
                                                   "failure ({cause}, this mailbox's). Server answered: "
                                                   "{answer}"),
    ("answered", OUTGOING, PERMANENT, SERVER): N_("Outgoing email, {where}, failed at {step}: {why} Permanent "
                                                  "failure ({cause}, the server's). Server answered: {answer}"),
    ("answered", OUTGOING, PERMANENT, MAILBOX): N_("Outgoing email, {where}, failed at {step}: {why} Permanent "
                                                   "failure ({cause}, this mailbox's). Server answered: "
                                                   "{answer}"),
    ("answered", ACT, TRANSIENT, SERVER): N_("Appointments, contacts and tasks, {where}, failed at {step}: "
                                             "{why} Transient failure ({cause}, the server's). Server answered:"
                                             " {answer}"),
    ("answered", ACT, TRANSIENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, failed at {step}: "
                                              "{why} Transient failure ({cause}, this mailbox's). Server "
                                              "answered: {answer}"),
    ("answered", ACT, PERMANENT, SERVER): N_("Appointments, contacts and tasks, {where}, failed at {step}: "
                                             "{why} Permanent failure ({cause}, the server's). Server answered:"
                                             " {answer}"),
    ("answered", ACT, PERMANENT, MAILBOX): N_("Appointments, contacts and tasks, {where}, failed at {step}: "
                                              "{why} Permanent failure ({cause}, this mailbox's). Server "
                                              "answered: {answer}"),
}
NOTES = {INCOMING: N_("Incoming email: {why}"), OUTGOING: N_("Outgoing email: {why}"),
         ACT: N_("Appointments, contacts and tasks: {why}")}


def alert(kind: str, direction: str, cause: Cause, **values) -> str:
    """A failed direction's alert: plain (found before connecting), deferred (throttled, not tested), failed (at
    a step), answered (at a step, with the server's answer); `values` fill the template's placeholders."""
    template = ALERTS[kind, direction, cause.kind, cause.scope]
    return say(template, cause=cause.label, **{k: v for k, v in values.items() if "{" + k + "}" in template})


def note(direction: str, why: str) -> str:
    """A warning about a direction that passed (a sign-in method this tool cannot use)."""
    return say(NOTES[direction], why=why)


def rule_step(rule: str) -> str:
    """The step of a failure a rule found (stored in English: "rule M5")."""
    return say("rule {rule}", rule=rule)
