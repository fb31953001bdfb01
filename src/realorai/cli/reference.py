"""docs/CLI.md, generated from the command line itself, so the reference cannot drift from it.

    python -m realorai.cli.reference > docs/CLI.md

``tests/test_readme.py`` checks that docs/CLI.md is what this writes now.
"""

from __future__ import annotations

import typer

HEADER = """# Command-line reference

Every command and option of `realorai`, generated from the CLI itself
(`python -m realorai.cli.reference > docs/CLI.md`; a test checks it is current). `realorai
COMMAND --help` prints the same. Options that read an environment variable say which.
"""


def _option(p, ctx) -> str:
    names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
    kind = "" if getattr(p, "is_flag", False) else f" {p.display_type(ctx)}"
    text = " ".join((getattr(p, "help", None) or "").split())
    bits = []
    if p.required:
        bits.append("required")
    elif p.default not in (None, False, (), []) and not callable(p.default):
        default = p.default.value if hasattr(p.default, "value") else p.default
        bits.append(f"default: `{default}`")
    if getattr(p, "envvar", None):
        bits.append(f"env: `{p.envvar}`")
    extra = f" ({'; '.join(bits)})" if bits else ""
    return f"| {names}{kind.replace('|', '/')} | {(text + extra).strip().replace('|', '/')} |"


def _command(path: str, cmd) -> list[str]:
    """One command's section (Typer vendors click, so its classes are read by duck typing)."""
    ctx = cmd.context_class(cmd, info_name=path)
    lines = [f"## `{path}`", ""]
    if cmd.help:
        lines += [cmd.help.strip(), ""]
    args = [p for p in cmd.params if p.param_type_name == "argument"]
    opts = [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]
    if args:
        lines.append("Arguments: " + ", ".join(f"`{a.metavar or a.name.upper()}`" for a in args) + "\n")
    if opts:
        lines += ["| option | meaning |", "|---|---|", *(_option(p, ctx) for p in opts), ""]
    return lines


def markdown(app: typer.Typer | None = None) -> str:
    """The reference as Markdown: each command in the order `realorai --help` lists them."""
    if app is None:
        from realorai.cli.main import app
    root = typer.main.get_command(app)
    out = [HEADER]

    def walk(prefix: str, group) -> None:
        if hasattr(group, "list_commands"):
            ctx = group.context_class(group, info_name=prefix)
            for name in group.list_commands(ctx):
                walk(f"{prefix} {name}", group.get_command(ctx, name))
        else:
            out.extend(_command(prefix, group))

    walk("realorai", root)
    out += [
        "## Options of `realorai` itself",
        "",
        "| option | meaning |",
        "|---|---|",
        *(
            _option(p, root.context_class(root, info_name="realorai"))
            for p in root.params
            if p.param_type_name == "option" and p.name not in ("help", "install_completion", "show_completion")
        ),
    ]
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())
