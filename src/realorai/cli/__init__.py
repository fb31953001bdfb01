"""The command line (Typer): ``main.app`` and ``main.main``, one module per command group."""
