"""The domain: option sets, records as data, and the rules. Pure Python: no Textual, no Peewee."""
