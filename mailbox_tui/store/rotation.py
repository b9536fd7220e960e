"""`mailbox-tui rotate-key`: every secret re-encrypted under a new key, in one transaction."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from .crypto import KeyError_, KeyRing, write_key_file
from .database import Store, StoreError
from .models import EmailServerProfile, Mailbox, Meta

SECRET_COLUMNS = (
    (Mailbox, ("password_enc",)),
    (EmailServerProfile, ("password_enc", "outgoing_password_enc")),
)


def rotate_key(store: Store, new_key_path: Path | None = None) -> tuple[int, Path]:
    """Re-encrypt under a fresh key. Returns (secrets rotated, where the new key is).

    The new key is written to `<key file>.new` first and renamed over the key file only after
    the transaction commits; a crash in between leaves both, and both are read at start."""
    if not store.key_ok:
        raise StoreError("The current key does not match this database: rotating would lose every password.")
    if store.keyring.source == "environment":
        if new_key_path is None:
            raise KeyError_("The key comes from $MAILBOX_TUI_KEY: give --out PATH for the new key file, "
                            "then put its contents in MAILBOX_TUI_KEY.")
        final, pending = new_key_path, new_key_path
    else:
        final = Path(store.keyring.source)
        pending = final.with_name(final.name + ".new")
    new_key = Fernet.generate_key()
    if pending.exists():
        pending.unlink()
    write_key_file(pending, [new_key])
    rotating = KeyRing([new_key] + store.keyring.keys, store.keyring.source)
    count = 0
    with store.transaction():
        for model, columns in SECRET_COLUMNS:
            for column in columns:
                field = getattr(model, column)
                last = 0
                while True:
                    page = list(model.select(model.id, field).where(model.id > last, field.is_null(False))
                                .order_by(model.id).limit(1000))
                    if not page:
                        break
                    for row in page:
                        model.update({field: rotating.rotate(getattr(row, column))}).where(
                            model.id == row.id).execute()
                        count += 1
                    last = page[-1].id
        Meta.update(value=KeyRing([new_key], "new").key_check()).where(Meta.key == "key_check").execute()
    if pending != final:
        pending.replace(final)
    store.keyring = KeyRing([new_key], str(final) if store.keyring.source != "environment" else "environment")
    return count, final
