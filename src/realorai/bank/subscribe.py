"""``realorai bank subscribe URL --name NAME``: pull another server's bank feed (``bank.feed``)
into this bank, from the subscription's checkpoint, and keep pulling ``--every`` so often.

The other side being down is expected: a failed pull is retried with a doubling wait (1 s up to
60 s); a single pull gives up after ``TRIES`` and says why. A pull killed at any point (even
``kill -9``) loses nothing and repeats nothing: each applied batch and its checkpoint are one
transaction, and entries are keyed by their origin there.
"""

from __future__ import annotations

import http.client
import io
import time
import urllib.error
import urllib.request

from realorai.bank.feed import apply_feed, checkpoint_of
from realorai.bank.sources import advance, checkpoint

TRIES = 6
FAILURES = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def pull(bank, name: str, url: str, api_key: str | None, batch: int = 1000, timeout: float = 60) -> dict:
    """One pull from the subscription's checkpoint; what it applied (``apply_feed``'s counts)."""
    since = checkpoint(bank, name)
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/bank/export?since={since}",
                                     headers={"X-API-Key": api_key} if api_key else {})  # fmt: skip
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (an http(s) URL the user gave)
    except urllib.error.HTTPError as e:
        raise ValueError(f"{url}: HTTP {e.code} ({e.reason}): check the URL and the API key") from e
    with response:
        text = io.TextIOWrapper(response, encoding="utf-8", newline="")
        cut = checkpoint_of(text.readline())
        if cut is None:
            raise ValueError(f"{url}: not a realorai bank feed (is it a realorai server with a bank?)")
        done = apply_feed(bank, name, url, text, batch)
    with bank.transaction(bump=False) as con:  # read to the end: nothing after `since` up to `cut` is missing
        advance(con, name, cut)
    return {**done, "checkpoint": max(cut, done["checkpoint"] or 0)}


def subscribe(bank, name: str, url: str, api_key: str | None, every: float | None = None, batch: int = 1000,
              log=print, sleep=time.sleep) -> dict:  # fmt: skip
    """Pull once (``every`` None: retrying up to ``TRIES`` times) or for ever, every ``every`` s."""
    wait, failures = 1.0, 0
    while True:
        try:
            done = pull(bank, name, url, api_key, batch)
        except FAILURES as e:
            failures += 1
            if every is None and failures >= TRIES:
                raise ConnectionError(f"{url}: no answer after {failures} tries ({e})") from e
            log(f"{url}: {e}; trying again in {wait:.0f} s")
            sleep(wait)
            wait = min(60.0, wait * 2)
            continue
        wait, failures = 1.0, 0
        log(f"{name}: {done['added']} added, {done['revoked']} revoked, {done['skipped']} already here, "
            f"{done['bad']} bad; checkpoint {done['checkpoint']}")  # fmt: skip
        if every is None:
            return done
        sleep(every)
