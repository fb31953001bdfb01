"""Streams that learn from their reviewers' confirmations (``store``: the tables in the bank's
file; ``loop``: confirm, fit, the stream's detector; ``guard``: the drift guard; ``fitting``:
one version's head)."""
