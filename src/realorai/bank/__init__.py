"""The bank of known images (issue 27): PDQ hashes of pictures whose verified credential or a
person's confirmation labels them, so that their stripped, re-encoded, resized or flipped copies
get that evidence back. ``store`` (the SQLite file), ``pdq`` (the one hashing route), ``match``
(exact radius search, findings), ``add`` (filling it), ``exchange`` (export and import)."""

from realorai.bank.store import Bank, Entry

__all__ = ["Bank", "Entry"]
