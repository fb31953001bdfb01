"""GET /model: the loaded detector's model card as a page, offline (the page links to it).

Everything shown is what the checkpoint carries (checked on load): what it was trained on, the
tiers and how they were measured, per source; an adapted run's own MODEL_CARD.md follows it.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from realorai.serve.deps import DetectorDep, SettingsDep

router = APIRouter()


def _rows(pairs: list[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in pairs)


def _share(v) -> str:
    return "none" if v is None else f"{v:.0%}"


@router.get("/model", response_class=HTMLResponse, include_in_schema=False)
async def model_card(det: DetectorDep, settings: SettingsDep) -> HTMLResponse:
    meta, tiers = det.meta, det.tiers
    d = det.model.data_config
    facts = [
        ("name", det.name),
        ("source", ("the shipped fallback" if det.note else "the shipped default") if settings.model is None
                   else "a run folder or checkpoint"),  # fmt: skip
        *([("note", det.note)] if det.note else []),
        ("trained on", ", ".join(meta.get("train_datasets") or []) or "not recorded"),
        ("training images", meta.get("train_images", "not recorded")),
        ("input", f"{d.input_size}-px crops, resize {d.resize}, grid {d.crop_grid}"),
        ("likely AI from", "none (no such tier)" if tiers.likely_ai_from is None else f"{tiers.likely_ai_from:.3f}"),
        ("likely real below",
         "none (no such tier)" if tiers.likely_real_below is None else f"{tiers.likely_real_below:.3f}"),
        ("tiers measured", tiers.how or "not recorded"),
        ("best tail right (AI / real)", f"{_share(tiers.best_ai)} / {_share(tiers.best_real)} (a tier needs "
                                        f"{_share(tiers.target)})"),
        ("pixel verdicts inconclusive", _share(tiers.inconclusive)),
    ]  # fmt: skip
    per_source = [
        (name, f"{v.get('n', 0)} images scored out of source") for name, v in (tiers.per_source or {}).items()
    ]
    card = ""
    if settings.model is not None:
        folder = Path(settings.model)
        path = (folder if folder.is_dir() else folder.parent) / "MODEL_CARD.md"
        if path.is_file():
            card = f"<h2>MODEL_CARD.md</h2><pre>{html.escape(path.read_text(encoding='utf-8', errors='replace'))}</pre>"
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>realorai model card</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
        "th{text-align:left;padding-right:1rem;vertical-align:top}pre{white-space:pre-wrap}</style></head><body>"
        f"<h1>Model card: {html.escape(det.name)}</h1>"
        "<p>A pixel score is a hint: the tiers say how often such verdicts were right on sources the model "
        "never saw. Verified provenance and bank matches decide; the pixel detector does not.</p>"
        f"<table>{_rows(facts)}</table><h2>Per source (out-of-source folds)</h2><table>{_rows(per_source)}</table>"
        f"{card}<p><a href='/'>Back to the page</a></p></body></html>"
    )
    return HTMLResponse(body)
