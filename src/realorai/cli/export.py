"""``realorai export onnx``: the detector as an ONNX file with its preprocessing contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import App, fail, out

app = App(help="Export a detector for other runtimes.", no_args_is_help=True)


@app.command("onnx")
def export_onnx_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="The .onnx file to write.")] = Path("detector.onnx"),
    model: Annotated[
        Path | None,
        typer.Option(
            help="Run folder or checkpoint (default: detector-lite0-early, shipped whole; the default "
            "detector-clip-b16's features come from another runtime and do not export)."
        ),
    ] = None,
) -> None:
    """Write the detector as ONNX (opset 17, dynamic batch axis): uint8 crops (N, 3, S, S) in,
    the calibrated logit of P(AI) per crop out; input size, mean/std, crop plan, aggregation and
    threshold in the file's metadata (key "realorai"). Run it with `--model FILE.onnx` or any
    ONNX runtime."""
    from realorai.atomic import check_output_path, write_bytes
    from realorai.detector.onnx import OPSET, export_bytes
    from realorai.hashing import sha256_file
    from realorai.inference.detector import Detector

    try:
        check_output_path(output)
        if output.suffix != ".onnx":
            raise ValueError(f"{output}: the file name must end in .onnx")
        det = Detector.load(model, backend="torch") if model is not None else Detector.shipped(backend="torch")
        if det.kind != "detector":
            raise ValueError(f"{det.name}: only detectors (detector-*) export to ONNX")
        write_bytes(output, export_bytes(det.model, det.meta, sha256_file(det.source)))
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    out.print(f"wrote {output}: {det.name}, opset {OPSET}, threshold {det.threshold:.4f}", highlight=False)
