"""The bank's costs that grow with its size (hardening round 5): importing an export of N rows
(seconds and the importing process's peak memory, which must not grow with the file), and what
one query pays to learn whether the bank changed (the change counter's read, against the
full-table count the index used to take). Writes the RESULTS.md section "bank_costs".

    python benchmarks/bank_costs.py [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from reproduce_report import machine, replace_section  # noqa: E402

# The child resets its peak first (a fork inherits the parent's high-water mark) and reads VmHWM.
CHILD = """
import sys, time
from pathlib import Path
from realorai.bank import Bank
from realorai.bank.exchange import import_text
def hwm():
    return next(int(x.split()[1]) for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
Path("/proc/self/clear_refs").write_text("5")
base = hwm()
t = time.perf_counter()
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    done = import_text(Bank(sys.argv[2], create=True), f, "bench", "x.csv")
print(time.perf_counter() - t, base, hwm(), done.counts["banked"])
"""


def write_export(path: Path, n: int, seed: int = 0) -> None:
    """An export of ``n`` random confirmed hashes, each with a note (the shape of a real export)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "# realorai bank export, format 1\nsignal_type,signal,quality,label,evidence,confirmed_by,note,sha256\n"
        )
        for start in range(0, n, 100_000):
            block = rng.integers(0, 256, (min(100_000, n - start), 64), dtype=np.uint8)
            f.writelines(f"pdq,{h[:32].tobytes().hex()},100,{'ai' if h[0] & 1 else 'real'},confirmed,alice,"
                         f"\"seen, twice\",{h[32:].tobytes().hex()}\n" for h in block)  # fmt: skip


def import_cost(n: int, folder: Path) -> dict:
    csv, db = folder / f"x{n}.csv", folder / f"b{n}.db"
    write_export(csv, n)
    out = subprocess.run([sys.executable, "-c", CHILD, str(csv), str(db)], capture_output=True, text=True, check=True)
    seconds, base, peak, banked = out.stdout.split()
    return {"rows": n, "mb": csv.stat().st_size / 1e6, "s": float(seconds), "base": int(base) / 1024,
            "peak": int(peak) / 1024, "banked": int(banked), "db": db}  # fmt: skip


def check_cost(db: Path, repeats: int = 20) -> tuple[float, float]:
    """Seconds per query to learn whether the bank changed: the change counter (now) and the
    full-table count, max id and revoked sum (before this round)."""
    import contextlib
    import sqlite3

    from realorai.bank import Bank

    bank = Bank(db)
    t = time.perf_counter()
    for _ in range(repeats):
        Bank(db).version()
    now = (time.perf_counter() - t) / repeats
    t = time.perf_counter()
    for _ in range(repeats):
        with contextlib.closing(sqlite3.connect(bank.path)) as con:
            con.execute("SELECT count(*), coalesce(max(id), 0), sum(revoked_at != '') FROM entries").fetchone()
    return now, (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    lines = [
        "Imports run in a fresh process each (`bank import`'s streamed path, `import_text` over an open "
        "file); peak is the process's maximum resident memory, base what it held before reading the file.",
        "",
        "| rows | file | import | rows/s | peak memory | of which the import | change check now | "
        "full-table check (before) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            r = import_cost(n, Path(tmp))
            now, before = check_cost(r["db"])
            lines.append(f"| {n:,} | {r['mb']:.0f} MB | {r['s']:.1f} s | {n / r['s']:,.0f} | {r['peak']:.0f} MB | "
                         f"{r['peak'] - r['base']:.0f} MB | {now * 1e3:.2f} ms | {before * 1e3:.0f} ms |")  # fmt: skip
            print(lines[-1], flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    body = "\n".join([
        "## The bank's costs that grow with it (`benchmarks/bank_costs.py`)",
        "",
        f"Command: `{' '.join(['python', *map(shlex.quote, sys.argv)])}`. Machine: {machine()}.",
        "",
        *lines,
        "",
        f"(This process peaked at {rss:.0f} MB writing the files and timing the checks.) Before this round an "
        "import read the whole file and every banked hash into memory: 10^6 rows took 64 s and 962 MB, "
        "3 x 10^6 rows 3 min 22 s and 2.80 GB (the round's report, same machine type).",
    ])  # fmt: skip
    replace_section(Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md", "bank_costs", body)


if __name__ == "__main__":
    main()
