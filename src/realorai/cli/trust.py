"""``realorai trust show|refresh``: the C2PA trust list that provenance checks use."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realorai.cli.common import App, fail, out

app = App(help="The C2PA trust list (official conformance list, bundled).", no_args_is_help=True)


@app.command("show")
def trust_show() -> None:
    """Which trust list is in use: folder, certificates, source and date."""
    from realorai.provenance.trust import info

    i = info()
    out.print(
        f"{i['certificates']} trust anchors from {i.get('source', '?')} ({i.get('date', '?')}, "
        f"{i.get('license', '?')}; credit: {i.get('credit', '?')}); folder {i['folder']}",
        highlight=False,
    )


@app.command("refresh")
def trust_refresh(
    url: Annotated[str, typer.Option(help="Base URL of the list's folder.")] = "",
    dest: Annotated[Path | None, typer.Option(help="Folder to write (default: the user data folder).")] = None,
) -> None:
    """Download the current official list (needs the internet); later runs use it over the bundled one."""
    from realorai.provenance.trust import BASE_URL, TrustListError, refresh

    try:
        i = refresh(url or BASE_URL, dest)
    except (OSError, TrustListError) as e:
        fail(f"could not refresh the C2PA trust list from {url or BASE_URL}: {e}")
    out.print(f"wrote {i['certificates']} trust anchors to {i['folder']} ({i['date']})", highlight=False)
