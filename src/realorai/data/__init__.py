"""Datasets: scan a folder into a manifest, audit it for shortcuts, split it, show it."""
