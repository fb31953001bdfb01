"""Inference: the one layer every front end scores through (like a Hugging Face pipeline).

``detector.Detector`` loads either model family on either backend; ``rows`` is the one result
row; ``analyze`` adds provenance and heatmaps; ``inputs`` expands paths; ``batch`` and
``ray_engine`` run resumable scans of any size.
"""
