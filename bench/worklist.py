"""The worklist benchmark: a generated Bulk export through `epidural-cds worklist --ndjson`, timed, with the peak
memory of the whole process tree (the command, its DuckDB threads and its worker processes) sampled from /proc.

`python -m bench.worklist [--patients 51000] [--dir var/bench/population] [--workers 2] [--from DATE --to DATE]`

The population is generated once per (patients, seed) and reused. Prints figures; asserts nothing. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench.population import write_population

TODAY = date(2026, 12, 1)
SEED = 20261202


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of `root` and all its descendants."""
    total = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        pending.extend(_children(pid))
    return total


def population(directory: Path, patients: int) -> dict[str, int]:
    marker = directory / "population.json"
    wanted = {"patients": patients, "seed": SEED, "today": TODAY.isoformat()}
    if marker.exists() and json.loads(marker.read_text())["wanted"] == wanted:
        counts: dict[str, int] = json.loads(marker.read_text())["counts"]
        return counts
    started = time.perf_counter()
    counts = write_population(directory, patients, TODAY, SEED, progress=True)
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    marker.write_text(json.dumps({"wanted": wanted, "counts": counts}))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worklist", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=51_000)
    parser.add_argument("--dir", type=Path, default=Path("var/bench/population"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--from", dest="start", default="2025-12-01")
    parser.add_argument("--to", dest="end", default=TODAY.isoformat())
    arguments = parser.parse_args(argv)
    counts = population(arguments.dir, arguments.patients)
    output = arguments.dir.parent / "worklist.jsonl"
    command = [
        str(Path(sys.executable).with_name("epidural-cds")),
        "worklist",
        "--ndjson",
        str(arguments.dir),
        "--from",
        arguments.start,
        "--to",
        arguments.end,
        "--as-of",
        TODAY.isoformat(),
        "--days",
        "60",
        "--json",
        "--output",
        str(output),
        "--workers",
        str(arguments.workers),
    ]
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_bytes(process.pid))
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    stderr = process.stderr.read() if process.stderr else ""
    rows = sum(1 for _ in output.open())
    size = sum(path.stat().st_size for path in arguments.dir.glob("*.ndjson"))
    # Progress rewrites one line with carriage returns; its last state is the summary.
    for line in stderr.split("\n"):
        print(line.split("\r")[-1], file=sys.stderr)
    print(f"exit status          {process.returncode}")
    print(f"patients             {counts['Patient']:,}")
    print(f"Procedures           {counts['Procedure']:,}")
    print(f"all resources        {sum(counts.values()):,} ({size / 1e9:.2f} GB of NDJSON)")
    print(f"dates of service     {arguments.start} to {arguments.end}; bookings 60 days ahead")
    print(f"rows with findings   {rows:,}")
    print(f"workers              {arguments.workers}")
    print(f"wall time            {elapsed:.1f} s")
    print(f"CPU time (all procs) {cpu:.1f} s")
    print(f"peak memory (tree)   {peak / 2**20:,.0f} MiB")
    # The machine is shared: a load above its cores stretches wall time, while CPU time stays the work done.
    print(f"load average         {load_before:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)")
    return process.returncode


if __name__ == "__main__":
    raise SystemExit(main())
