"""Evaluation: a run on a split (``evaluate``), runs side by side (``runs_report``), the report's
reproduction (``reproduce``), and the detector benchmark (``benchmark``, its tables, perturbations)."""
