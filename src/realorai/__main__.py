"""``python -m realorai`` (and ``torchrun -m realorai``): the same command line as ``realorai``."""

from realorai.cli.main import main

main()
