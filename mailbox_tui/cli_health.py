"""`mailbox-tui health [--json | --prometheus]`: the lifecycle's figures for monitoring systems (issue 24).

Exit status as the monitoring plugins have it (Nagios, Icinga): 0 nothing failing, 1 mailboxes retrying
(or failing), 2 any mailbox disabled by failures, 3 unknown (the database cannot be read, or a usage error).
`--prometheus` writes the Prometheus text format, for node_exporter's textfile collector; the metric names
are in METRICS (and the README). The human summary is in the admin's language after its first words
("MAILBOX-TUI OK -", as monitoring plugins write them); --json and --prometheus stay English."""

from __future__ import annotations

import sys

UNKNOWN = 3
STATE_LABELS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

# name -> (what ProfileHealth holds it in, help text); every one labelled by profile
METRICS = {
    "mailbox_tui_mailboxes": ("mailboxes", "Active mailboxes."),
    "mailbox_tui_mailboxes_enabled": ("enabled", "Mailboxes with a direction enabled."),
    "mailbox_tui_mailboxes_failing": ("failing", "Mailboxes whose last test failed in a direction."),
    "mailbox_tui_mailboxes_retrying": ("retrying", "Mailboxes with a retry scheduled after a transient failure."),
    "mailbox_tui_mailboxes_disabled": ("disabled", "Mailboxes with a direction disabled by failures."),
    "mailbox_tui_mailboxes_disabled_24h": ("disabled_24h", "Of them, last error within 24 hours."),
    "mailbox_tui_mailboxes_failed_1h": ("failed_1h", "Mailboxes whose last error is within the hour."),
    "mailbox_tui_mailboxes_tested_1h": ("tested_1h", "Mailboxes tested or retried within the hour."),
    "mailbox_tui_failure_ratio_1h": ("failure_rate_1h", "failed_1h / tested_1h (0 when nothing was tested)."),
    "mailbox_tui_profile_flagged": ("flagged", "1 when more than half of the profile's mailboxes failed within "
                                               "the hour."),
    "mailbox_tui_last_success_timestamp_seconds": ("last_success", "Unix time of the latest test with no failure."),
}
STATUS_METRIC = "mailbox_tui_health_status"  # 0 OK, 1 retrying, 2 disabled: the exit status


def _label(value: str) -> str:
    """A label value as the text format escapes it: backslash, double quote, line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus(figures, status: int) -> str:
    from calendar import timegm

    lines = []
    for name, (attribute, text) in METRICS.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
        for p in figures:
            value = getattr(p, attribute)
            if attribute == "last_success":
                if value is None:
                    continue
                value = timegm(value.timetuple())
            lines.append(f'{name}{{profile="{_label(p.profile)}"}} {float(value):g}')
    lines += [f"# HELP {STATUS_METRIC} 0 nothing failing, 1 mailboxes retrying or failing, 2 any disabled by "
              "failures.", f"# TYPE {STATUS_METRIC} gauge", f"{STATUS_METRIC} {status}"]
    return "\n".join(lines) + "\n"


def cmd_health(args) -> int:
    from . import cli_common as cli
    from .domain.outside_text import visible
    from .i18n import _, number
    from .store.health import overall, profile_health
    from .store.models import utcnow

    try:
        with cli._open_store(args) as store:
            figures = profile_health(utcnow())
    except Exception as exc:  # noqa: BLE001 - whatever stops the reading, the answer is "unknown"
        print(_("mailbox-tui: health UNKNOWN: {error}").format(error=cli._one_line(str(exc) or type(exc).__name__)),
              file=sys.stderr)
        return UNKNOWN
    status = overall(figures)
    if getattr(args, "prometheus", False):
        sys.stdout.write(prometheus(figures, status))
    elif getattr(args, "json", False):
        cli._print(args, {"status": status, "state": STATE_LABELS[status],
                          "profiles": [p.as_dict() for p in figures]}, "")
    else:
        total = {name: sum(getattr(p, name) for p in figures) for name in ("mailboxes", "retrying", "disabled")}
        print(f"MAILBOX-TUI {STATE_LABELS[status]} - " + _(
            "{mailboxes} mailboxes, {retrying} retrying, {disabled} disabled by failures").format(
            mailboxes=number(total["mailboxes"]), retrying=number(total["retrying"]),
            disabled=number(total["disabled"])))
        for p in figures:
            line = _("{profile}: {enabled} enabled, {failing} failing, {retrying} retrying, {disabled} disabled "
                     "({disabled_24h} in 24 h), failure rate 1 h {rate}").format(
                profile=visible(p.profile) or _("(no profile)"), enabled=number(p.enabled),
                failing=number(p.failing), retrying=number(p.retrying), disabled=number(p.disabled),
                disabled_24h=number(p.disabled_24h), rate=f"{p.failure_rate_1h:.0%}")
            if p.flagged:
                line = _("{line}  FLAGGED: more than half failed within the hour").format(line=line)
            print("  " + line)
    return status
