"""``realorai`` with the tests' tiny CNN registered, for torchrun (which starts fresh processes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import conftest  # noqa: E402,F401  (registers test-cnn)

from realorai.cli.main import main  # noqa: E402

main()
