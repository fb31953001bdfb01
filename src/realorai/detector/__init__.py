"""The forensic detector: native-resolution crops, frozen multi-depth features, a calibrated head."""
