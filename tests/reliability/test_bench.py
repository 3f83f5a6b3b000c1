"""The README's benchmark commands run and report what they promise (smoke runs; no timing asserted)."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from tests.readme import readme_commands
from tests.support import REPO


def test_bench_readme_command_reports_throughput_memory_and_storage():
    (command,) = readme_commands("bench")
    argv = shlex.split(command)
    assert argv[:2] == ["python", "bench/batch_throughput.py"]
    # a bounded smoke run; one client thread, so which keys the updates hit is deterministic
    small = [sys.executable, argv[1], "--batches", "4", "--items", "6", "--threads", "1"]
    result = subprocess.run(small, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["batches"] == 4 and report["items_per_batch"] == 6
    assert report["items_per_second"] > 0 and report["batch_ms"]["p50"] <= report["batch_ms"]["max"]
    assert report["server_rss_kib"]["before"] > 0 and report["server_rss_kib"]["after"] > 0
    # 4 batches x 6 items: the first batch creates 6, the others create 3 and update 3 each
    assert report["records_stored"] == 6 + 3 * 3
    assert report["data_file_bytes"] > 0


# store_scale.py's rows, by a phrase of their first cell: issue 9's numbers
STORE_SCALE_ROWS = ("start to healthy", "seed ", "1-item update", "1-item create", "GET one record",
                    "1,000-item create batch", "peak RSS", "vs Prism 5", "while the tenant grows", "`--workers 2`")
NEEDS_WRK = ("vs Prism 5", "while the tenant grows", "`--workers 2`")


def test_bench_store_scale_quick_prints_every_row_of_issue_9():
    (command,) = readme_commands("bench-store-scale")
    argv = shlex.split(command)
    assert argv[:2] == ["python", "bench/store_scale.py"]
    small = [sys.executable, argv[1], *argv[2:], "--quick", "--skip-prism", "--skip-wrk"]
    result = subprocess.run(small, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]  # 0 even when a target fails: a measurement
    lines = result.stdout.splitlines()
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines
            if line.startswith("| ") and not line.startswith("| measurement")]
    assert all(len(r) == 5 for r in rows), rows
    for phrase in STORE_SCALE_ROWS:
        (row,) = [r for r in rows if phrase in r[0]]
        what, raw, value, target, verdict = row
        assert target, row
        if phrase in NEEDS_WRK:  # --skip-wrk: SKIPPED with its reason, never a number
            assert verdict == "SKIPPED (--skip-wrk)" and value == "—", row
            continue
        assert verdict in ("PASS", "FAIL"), row
        assert float(value.split()[0].rstrip("x")) > 0, row
        numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", raw.replace(",", ""))]
        assert numbers and all(n > 0 for n in numbers), row
    assert len(rows) == len(STORE_SCALE_ROWS)
    passed, failed = sum(r[4] == "PASS" for r in rows), sum(r[4] == "FAIL" for r in rows)
    assert lines[-1] == f"targets: {passed} passed, {failed} failed, {len(NEEDS_WRK)} skipped"


def test_bench_pipeliner_list_small_prints_a_row_per_query():
    (command,) = readme_commands("bench-pipeliner-list")
    argv = shlex.split(command)
    assert argv[:2] == ["python", "bench/pipeliner_list.py"]
    small = [sys.executable, argv[1], "--calls", "2000", "--reps", "2"]
    result = subprocess.run(small, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and " ms |" in line]
    assert len(rows) == 11 and all(re.search(r"\d+\.\d ms \| \d+\.\d ms \|$", row) for row in rows), rows
