"""The mailbox form: General, Credentials, Synchronization Method, Configuration Test Results.

Every change re-judges the whole draft with the domain rules and shows each message under its
field; locked fields say why. Saving goes through the store services, in one transaction."""

from __future__ import annotations

import logging

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Checkbox, Input, Select

from ...i18n import N_, _, said, shown
from ...domain.availability import FieldState, mailbox_fields
from ...domain.effects import mailbox_changes, mailbox_edit_notices, new_forward_mailbox
from ...domain.fields import MAILBOX_FIELDS, MAILBOX_SECTIONS, parse_utc
from ...domain.fields import Field as Declared
from ...domain.findings import Finding, Severity
from ...domain.lifecycle import last_error_text, next_attempt_text
from ...domain.options import MailboxKind, OutgoingMethod
from ...domain.rules import PROCESS_AFTER_FORMAT
from ...domain.records import MAILBOX_EDITABLE_FIELDS, MAILBOX_FIELD_LABELS, MailboxDraft
from ...store import form_facts, lookups, queries, services
from ...store.database import StoreError, is_unreachable
from ..plain import Plain, plain, plain_lines
from ..textual_internals import lay_out_hidden_screen, start_hidden_screen
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from .declared_form import DeclaredForm, profile_options
from ..widgets.completing import CompletingInput, UserEmailSuggester
from .record_form import FORM_CSS, Field, RecordFormScreen, yes_no
from .reused_screen import ReusedScreen

log = logging.getLogger(__name__)

SECTION_FIRST = {"general": "name", "credentials": "allow_credentials", "sync": "profile_id", "results": None}
RESULT_FIELDS = tuple(f for f in MAILBOX_FIELDS if f.section == "results")
_BY_NAME = {f.name: f for f in MAILBOX_FIELDS}


def label(name: str) -> str:
    """A field's label that fits 24 columns at 80×24, in the admin's language; the full Dynamics names are
    in MAILBOX_FIELD_LABELS. Both come from the declaration (domain/fields.py)."""
    if name == "clear_password":
        return _("Clear Password")
    found = _BY_NAME.get(name)
    return found.shown_short if found else name


class MailboxFormScreen(ReusedScreen, DeclaredForm, RecordFormScreen):
    """Returns True when something was saved."""

    RECORD = N_("mailbox")
    FIELDS, SECTIONS = MAILBOX_FIELDS, MAILBOX_SECTIONS
    FIELD_ORDER = MAILBOX_EDITABLE_FIELDS
    DEFAULT_CSS = FORM_CSS + """
    #owner-name, #password-state { padding-left: 25; color: $text-muted; }
    #results, #alerts { height: auto; }
    """
    BINDINGS = RecordFormScreen.BINDINGS + [
        # One entry in the key bar for the four sections; help lists each.
        Binding("f2", "section('general')", N_("Sections"), key_display="f2-f5", tooltip=N_("General section"),
                id="section_general"),
        Binding("f3", "section('credentials')", N_("Credentials section"), show=False, id="section_credentials"),
        Binding("f4", "section('sync')", N_("Synchronization Method section"), show=False, id="section_sync"),
        Binding("f5", "section('results')", N_("Configuration Test Results section"), show=False, id="section_results"),
        Binding("f6", "test_enable", N_("Test & Enable"), id="test_enable"),
    ]
    test_run = None

    INSTALLED_AS = "mailbox-form"

    @classmethod
    def new_forward_draft(cls, app) -> MailboxDraft:
        org = services.org_settings(app.store)
        auth = services.profile_auth_method(app.store, org.default_profile_id)
        return new_forward_mailbox(app.acting_user_id, org, auth)

    @classmethod
    def new_forward(cls, app) -> MailboxFormScreen:
        return cls(cls.new_forward_draft(app))

    @classmethod
    def build_ahead(cls, app, mailbox_id: int | None = None) -> None:
        """Build the form, hidden, while the admin reads the first list (called after its first
        paint): the first Enter then only refills and shows it, as every later one does. Composing
        its forty widgets and styling them takes about 0.2 s at 80×24; nothing is drawn meanwhile."""
        if app.is_screen_installed(cls.INSTALLED_AS) or getattr(app, "database_down", False):
            return  # opened already, or the database is not answering: the first Enter builds it
        try:
            draft = cls._draft_ahead(app, mailbox_id)
        except Exception as error:
            if not is_unreachable(error):
                raise
            log.info("the mailbox form is built on first use: %s", error)  # (the list says it is retried)
            return
        screen = cls(draft)
        screen.built_ahead = True
        app.install_screen(screen, cls.INSTALLED_AS)
        start_hidden_screen(app, screen)

    @classmethod
    def _draft_ahead(cls, app, mailbox_id: int | None) -> MailboxDraft:
        """The mailbox the first Enter most likely opens (the highlighted one): refilling the form
        for another stored mailbox changes little, while going from a new forward mailbox to a
        stored one restyles and re-lays out most of it (about as long as building it)."""
        if mailbox_id is not None:
            try:
                return services.get_mailbox(app.store, mailbox_id)
            except StoreError:
                pass  # gone meanwhile: any draft will do
        return cls.new_forward_draft(app)

    @classmethod
    def discard(cls, app) -> None:
        """Forget the form kept for reuse (built ahead or opened before), unless it is on screen: the
        next Enter builds it again (after the language changed, its words are the old ones)."""
        if not app.is_screen_installed(cls.INSTALLED_AS):
            return
        screen = app.get_screen(cls.INSTALLED_AS)
        if screen in app.screen_stack:
            return
        app.uninstall_screen(cls.INSTALLED_AS)
        if screen.is_mounted:
            screen.remove()

    built_ahead = False  # built by build_ahead (tests and the benchmark read it)
    composed = False  # compose ran to its end (a database error can cut it short)
    _load_when_mounted: MailboxDraft | None = None

    @classmethod
    def open(cls, app, draft: MailboxDraft) -> None:
        """Show the form on `draft`. It is built once (ahead, see build_ahead) and refilled after
        that: composing its forty widgets and styling them is most of what opening a form costs
        (and of the bytes it writes)."""
        if app.is_screen_installed(cls.INSTALLED_AS):
            screen = app.get_screen(cls.INSTALLED_AS)
            if screen.test_run is None and screen not in app.screen_stack and (screen.composed or not screen.is_mounted):
                if screen.is_mounted:
                    screen.load(draft)
                else:  # still being built ahead: it shows `draft` as soon as it is
                    screen._load_when_mounted = draft
                app.push_screen(screen)
                return
            app.uninstall_screen(cls.INSTALLED_AS)  # busy (testing), open already or cut short: build another
            if not screen.composed and screen not in app.screen_stack:
                screen.remove()
        screen = cls(draft)
        if not app.is_screen_installed(cls.INSTALLED_AS):
            app.install_screen(screen, cls.INSTALLED_AS)
        app.push_screen(screen)

    def _ready(self) -> None:
        if not self.composed:  # the database stopped answering while it was built ahead: never shown
            return
        super()._ready()
        draft, self._load_when_mounted = self._load_when_mounted, None
        if draft is not None:
            self.load(draft)
        elif self.built_ahead and not self.is_current:
            self.styled_now()  # styled as it mounted
            self.call_after_refresh(self._lay_out_ahead)

    laid_out_ahead = False  # placed at the terminal's size while hidden (tests and the benchmark read it)

    def _lay_out_ahead(self, passes: int = 4) -> None:
        """Built ahead and still hidden: place its widgets too, so the first Enter only paints. A pass
        at a time, each after the widgets have answered the last (the form's scroll bar appearing
        narrows everything in it), until nothing moves; then each widget on screen renders its lines
        (kept until its content changes), as the first paint would. Nothing is written."""
        if self.is_current or passes == 0:
            return
        if not self.app.input_queue.idle:  # keys are waiting: they go first
            self.set_timer(0.1, lambda: self._lay_out_ahead(passes))
            return
        before = self._placed()
        self.laid_out_ahead = lay_out_hidden_screen(self)
        if not self.laid_out_ahead:
            return
        if self._placed() != before:
            self.query_one("#form").call_after_refresh(self._lay_out_ahead, passes - 1)
            return
        terminal = Region(0, 0, *self.app.size)
        for widget in self.query("*"):
            region = widget.region
            if region and terminal.contains_region(region):
                widget.render_lines(Region(0, 0, region.width, region.height))

    def _placed(self) -> list:
        return [(widget.region, widget.virtual_size) for widget in self.query("*")]

    def load(self, draft: MailboxDraft) -> None:
        """Start over on another record: as if the form had just been built for it."""
        self.saved = False
        self._opening_focus = None
        options = self._profile_options()
        select = self.query_one("#profile_id", Select)
        if options != self._options_shown:  # profiles were added, renamed or deleted meanwhile
            with self.prevent(Select.Changed):
                select.set_options(options)
            self._options_shown = options
        self.query_one("#regarding", Plain).update(plain(self._regarding_text(draft)))
        self.fill(draft, quietly=True)
        self.sub_title = self.heading(draft)
        form = self.query_one("#form", VerticalScroll)
        form.scroll_to(0, 0, animate=False)
        self.query_one("#form-end", Plain).styles.height = 0
        self._focus_first_field()
        self.refocus_on_resume = True

    # -- building the form
    def compose(self) -> ComposeResult:
        """Section by section, field by field as domain/fields.py declares them; the owner and the
        server profile take their own widgets, and some fields bring a line of their own along."""
        d = self.base
        self.facts = form_facts.MailboxFormFacts(self.app.store, d)  # what a keystroke judges by
        locked = {name: not state.editable for name, state in self.field_states(d).items()}  # now: restyling costs
        self._options_shown = self._profile_options()
        yield TitleBar()
        yield Plain("", id="summary")
        with VerticalScroll(id="form"):
            yield from self.compose_fields(d, locked)
            yield Plain("", id="form-end")  # room below the last section, so F5 brings it to the top
        yield KeyBar()
        self.composed = True

    def section_title(self, section: str, title: str) -> Plain:
        key = {"general": "F2", "credentials": "F3", "sync": "F4", "results": "F5"}[section]
        return Plain(f"{shown(title)}  ({key})", classes="section-title", id=f"section-{section}")

    def field_label(self, f: Declared) -> str:
        return label(f.name)

    def widget(self, f: Declared, d: MailboxDraft, locked: bool):
        if f.name == "owner_id":
            return CompletingInput(self._owner_email(), id="owner_id", compact=True, disabled=locked,
                                   suggester=UserEmailSuggester(self.facts.owner_typed),
                                   placeholder=_("user's email; → completes"))
        return super().widget(f, d, locked)

    def choices(self, f: Declared, d: MailboxDraft):
        return self._options_shown if f.name == "profile_id" else None

    def beside(self, name: str, locked: dict[str, bool]) -> ComposeResult:
        """What a field brings along under it: who the owner is; whether a password is stored."""
        if name == "owner_id":
            yield Plain("", id="owner-name")
        elif name == "password":
            yield Plain("", id="password-state")
            yield Field("clear_password", Checkbox(_("No"), False, id="clear_password", disabled=locked["clear_password"]),
                        label("clear_password"))

    def section_end(self, section: str, d: MailboxDraft) -> ComposeResult:
        """The lines a section shows after its fields: what the form shows but never edits."""
        if section == "general":
            yield Plain(plain(self._regarding_text(d)), id="regarding")
            yield Plain(self._kind_text(d), id="kind")
        elif section == "results":
            yield Plain(self._results_text(d), id="results")
            yield Plain(self._alerts_text(d), id="alerts")

    def heading(self, draft) -> str:
        return _("New forward mailbox") if draft.id is None else draft.name

    # -- reading the widgets into a draft
    def read_draft(self) -> MailboxDraft:
        d = self.read_fields(self.base)
        d.password.clear = self.value("clear_password")
        return d

    def read_field(self, f: Declared, raw, base: MailboxDraft):
        if f.name == "owner_id":  # typed as an email; any but a forward mailbox follows its record's owner (M2)
            return self.facts.owner_typed(raw).owner_id if base.kind == MailboxKind.FORWARD else base.owner_id
        return super().read_field(f, raw, base)

    def shown_field(self, f: Declared, d: MailboxDraft):
        return self._owner_email() if f.name == "owner_id" else super().shown_field(f, d)

    def _owner_email(self) -> str:
        return self.facts.owner.email if self.facts.owner else ""

    def _regarding_text(self, d: MailboxDraft) -> str:
        if d.kind == MailboxKind.USER and d.regarding_id:
            user = lookups.user_summary(d.regarding_id)
            return _("Regarding: User {name}").format(name=user.label) if user else _("Regarding: (missing user)")
        if d.kind == MailboxKind.QUEUE and d.regarding_id:
            name = lookups.queue_name(d.regarding_id)
            return _("Regarding: Queue {name}").format(name=name) if name is not None else _("Regarding: (missing queue)")
        return _("Regarding: (none: a forward mailbox has no regarding record)")

    def _kind_text(self, d: MailboxDraft) -> str:
        return f"{_BY_NAME['kind'].shown_label}: {_('Yes') if d.is_forward else _('No')}" + (
            "" if d.id is None else "  " + _("(fixed when created, M8)"))

    def _profile_options(self) -> list[tuple[str, int]]:
        return profile_options(queries.profiles_lookup())

    def _results_text(self, d: MailboxDraft) -> str:
        """The declared results, as labelled: what Test & Enable wrote first, then the approval."""
        lines = []
        for f in sorted(RESULT_FIELDS, key=lambda f: not f.by_test):
            value = getattr(d, f.name)
            if f.options:
                said = f.options(value).shown_label if value in set(f.options) else f.options.label_of(value)
            else:
                said = value.strftime("%Y-%m-%d %H:%M UTC") if value else _("never")
            lines.append(f"{f.shown_label}: {said}")
        if d.id is not None:  # the lifecycle (issue 24): the next retry, and the last error as the server said it
            lines.append(next_attempt_text(d, lookups.retry_settings(d.profile_id)))
            lines.append(last_error_text(d))
        return plain_lines(lines)

    def _alerts_text(self, d: MailboxDraft):
        """What a server, a token endpoint or a certificate said: one line each, shown as written. Our words,
        stored in English, are read back into the admin's language (i18n.said); the server's stay as they came."""
        if d.id is None:
            return _("Alerts: none yet.")
        alerts = lookups.mailbox_alerts(d.id, limit=20)
        if not alerts:
            return _("Alerts: none.")
        lines = [_("Alerts (newest first):")]
        lines += [f"{a.created_on:%Y-%m-%d %H:%M} {shown(a.level):<7} {said(a.step) + ': ' if a.step else ''}"
                  f"{said(a.message)}" for a in alerts]
        return plain_lines(lines)

    # -- judging
    def check(self, draft) -> list[Finding]:
        typed = self.value("process_after").strip()
        if typed and parse_utc(typed) is None:  # not a date-time at all: the draft could not hold it (M19)
            return [f for f in self.facts.findings(draft) if f.field != "process_after"] + [
                Finding("M19", "process_after", Severity.ERROR, PROCESS_AFTER_FORMAT)]
        return self.facts.findings(draft)

    def notices(self, draft) -> list[Finding]:
        if self.is_new:
            return []
        return mailbox_edit_notices(self.base, draft, self.facts.org)

    def field_states(self, draft) -> dict[str, FieldState]:
        states = mailbox_fields(draft)
        password = states["password"]
        # Only a stored password can be cleared: a new mailbox, or one without, has no such field.
        states["clear_password"] = FieldState(password.editable, visible=self.base.password.stored,
                                              reason=password.reason)
        return states

    def changes(self, base, draft) -> list[str]:
        return mailbox_changes(base, draft)

    def checkbox_label(self, box: Checkbox) -> str:
        if box.id == "clear_password":
            return _("Yes: remove the stored password on save") if box.value else _("No")
        return yes_no(box)

    def after_validate(self, d: MailboxDraft) -> None:
        if d.kind == MailboxKind.FORWARD:
            user = self.facts.owner_typed(self.value("owner_id")).user
        else:
            user = self.facts.owner  # a user's or queue's mailbox follows its record's owner (M2)
        self.query_one("#owner-name", Plain).update(plain(_("Owner: {name}").format(name=user.full_name)) if user else "")
        if not self.base.password.stored:
            text = _("No password is stored.")
        elif not self.base.password.readable:
            text = _("A password is stored but can't be read with the current key: type it again.")
        elif d.password.clear and not d.password.new:
            text = _("The stored password will be removed when you save.")
        else:
            text = _("A password is stored (never shown). Leave the field blank to keep it.")
        self.query_one("#password-state", Plain).update(text)
        box = self.query_one("#password", Input)  # the hint says what a blank field does for this record
        hint = (_("new password; blank keeps the stored one") if self.base.password.stored else
                _("the account's password"))
        if box.placeholder != hint:
            box.placeholder = hint

    # -- saving
    def write(self, draft, base):
        if self.is_new:
            return services.create_forward_mailbox(self.app.store, draft)
        return services.update_mailbox(self.app.store, base, draft, keep_secrets=self.keep_secrets)

    def reload_base(self):
        return services.get_mailbox(self.app.store, self.base.id)

    def label_for(self, field: str) -> str:
        return MAILBOX_FIELD_LABELS.get(field, field)

    def fill(self, d: MailboxDraft, quietly: bool = False) -> None:
        """Show `d` (saved, reloaded, or another record). `quietly`: the widgets' own Changed
        messages are held back, and the form is judged once, here."""
        self._loading = True
        self.base = d
        self.facts = form_facts.MailboxFormFacts(self.app.store, d)  # saved or reloaded: read afresh
        self.query_one("#owner_id", Input).suggester = UserEmailSuggester(self.facts.owner_typed)
        held = (Input.Changed, Select.Changed, Checkbox.Changed) if quietly else ()
        with self.prevent(*held):
            self.fill_fields(d)
            self.query_one("#clear_password", Checkbox).value = False
        for box in self.query(Checkbox):
            box.label = self.checkbox_label(box)
        self.query_one("#results", Plain).update(self._results_text(d))
        self.query_one("#alerts", Plain).update(self._alerts_text(d))
        self.query_one("#kind", Plain).update(self._kind_text(d))
        self.sub_title = self.heading(d)
        self._loading = False
        self.validate()

    # -- Test & Enable this mailbox; the results section updates in place
    def action_test_enable(self) -> None:
        if self.is_new or self.is_dirty():
            self.notify(_("Save first: Test & Enable tests what is saved."), severity="warning")
            return
        if self.test_run is not None:
            return
        route = self._test_message_route() if self.base.outgoing == OutgoingMethod.SERVER_SIDE_SYNC else ""
        if route:
            from ..dialogs.confirm import ConfirmDialog

            question = _("Also send a test message from {email} to itself through {route}? Without it, outgoing "
                         "is tested without sending (y: send, n or Escape: don't).").format(
                             email=self.base.email, route=said(route))
            self.app.push_screen(ConfirmDialog(question, yes=_("Send one"), no=_("Don't send")), self._start_test)
            return
        self._start_test(False)

    def _test_message_route(self) -> str:
        from ...domain.exchange import route_of_test_message

        if self.base.profile_id is None:
            return ""
        try:
            return route_of_test_message(services.get_profile(self.app.store, self.base.profile_id))
        except services.NotFound:
            return ""

    def _start_test(self, send_test_message: bool | None) -> None:
        from ..testing import TestRun

        if self.test_run is not None:
            return
        self.test_run = TestRun(self, [self.base.id], send_test_message=bool(send_test_message))
        self.test_run.start()
        self.query_one("#results", Plain).update(_("Testing… (the connection timeout bounds this)"))
        self.action_section("results")

    def on_test_finished(self, message) -> None:
        from ..testing import summary

        self.test_run = None
        report = message.report
        if report is None:  # the run failed; the app has said why
            self.query_one("#results", Plain).update(self._results_text(self.base))
            return
        self.notify(summary(report), timeout=10, severity="error" if report.failures else "information")
        self.fill(self.reload_base())

    # -- moving around
    def action_section(self, section: str) -> None:
        """Bring the section's heading to the top of the form (F2–F5), and focus its first field."""
        form = self.query_one("#form", VerticalScroll)
        title = self.query_one(f"#section-{section}")
        end = self.query_one("#form-end", Plain)
        below = form.virtual_size.height - end.outer_size.height - title.virtual_region.y
        room = max(0, form.scrollable_content_region.height - below)
        if end.outer_size.height != room:
            end.styles.height = room  # the layout changes first; scroll once it has
            self.call_after_refresh(form.scroll_to, y=title.virtual_region.y, animate=False)
        else:
            form.scroll_to(y=title.virtual_region.y, animate=False)
        first = SECTION_FIRST[section]
        if first and not self.query_one(f"#{first}").disabled:
            self.query_one(f"#{first}").focus(scroll_visible=False)
