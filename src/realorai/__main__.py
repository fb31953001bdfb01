"""``python -m realorai`` (and ``torchrun -m realorai``): the same command line as ``realorai``."""

from realorai.cli import main

main()
