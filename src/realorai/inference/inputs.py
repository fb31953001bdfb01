"""What the user named -> image files: files, folders (recursively) and glob patterns."""

from __future__ import annotations

import glob
from pathlib import Path

from realorai.imaging import IMAGE_EXTENSIONS, walk_files


def expand_inputs(inputs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Files, folders (recursively, image extensions only) and glob patterns -> file paths.

    Inputs that match nothing come back as errors rather than stopping the others.
    """
    files: list[str] = []
    errors: dict[str, str] = {}
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += [str(f) for f in walk_files(p) if f.suffix.lower() in IMAGE_EXTENSIONS]
        elif p.is_file():
            files.append(str(p))
        else:
            matches = sorted(m for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                files += matches
            else:
                errors[item] = "no such file, folder or matching pattern"
    return list(dict.fromkeys(files)), errors
