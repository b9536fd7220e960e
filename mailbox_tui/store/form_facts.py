"""What a mailbox form judges its draft by, read when the form opens, so that a keystroke costs at
most one indexed lookup (the owner typed, the address typed, or the facts of the profile chosen)."""

from __future__ import annotations

from collections import OrderedDict

from ..domain.context import EmailUse, Stage
from ..domain.findings import Finding
from ..domain.records import MailboxDraft, OrgSettings
from ..domain.rules import check_mailbox
from . import services
from .contexts import RememberingFacts, mailbox_context
from .database import Store
from .lookups import OwnerLookup, owner_lookup, user_summary


class MailboxFormFacts(RememberingFacts):
    """The facts outside a mailbox draft that its rules need, for one open form: a FactsSource for
    the one context builder (store/contexts.py), so a form judges as a save, an import and `check` do.

    What the form opened with is read once (the organisation's settings, the record's owner, its
    user or queue, the profile's facts); while the admin types, only the fact the key changed is
    read, in one indexed lookup: the owner typed, the address typed (M5), or a newly chosen
    profile. A save judges again, in its own transaction, by fresh facts."""

    OWNER_MEMORY = 16  # typed owner addresses remembered: completion and the form ask for the same text

    def __init__(self, store: Store, record: MailboxDraft) -> None:
        super().__init__(store)
        self.record = record
        self.original = None if record.id is None else record
        self.org: OrgSettings = services.org_settings(store)
        self.owner = user_summary(record.owner_id)  # who owns it as stored
        if self.owner is not None:
            self._users[self.owner.id] = True
        self._same_email: tuple[str, tuple[EmailUse, ...]] | None = None
        self._owners: OrderedDict[str, OwnerLookup] = OrderedDict()

    def owner_typed(self, text: str) -> OwnerLookup:
        """The user an owner field's text names (and its completion); one read per new text."""
        found = self._owners.get(text)
        if found is None:
            found = owner_lookup(text)
            self._owners[text] = found
            if len(self._owners) > self.OWNER_MEMORY:
                self._owners.popitem(last=False)
            if found.owner_id is not None:
                self._users[found.owner_id] = found.user is not None
        else:
            self._owners.move_to_end(text)
        return found

    # -- the FactsSource, remembered for the life of the form (RememberingFacts), and M5's
    # other mailboxes for the address typed last
    def other_mailboxes_with_email(self, key: str, mailbox: MailboxDraft, limit: int) -> tuple[EmailUse, ...]:
        if self._same_email is None or self._same_email[0] != key:  # only the address typed last
            self._same_email = (key, tuple(super().other_mailboxes_with_email(key, mailbox, limit)))
        return self._same_email[1]

    def findings(self, draft: MailboxDraft) -> list[Finding]:
        """What the form shows under its fields: the same rules, by the same builder, as a save."""
        return check_mailbox(draft, mailbox_context(self, draft, Stage.EDIT, self.original))
