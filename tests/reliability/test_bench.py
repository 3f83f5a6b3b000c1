"""The README's benchmark command runs and reports what it promises (a smoke run; no timing asserted)."""
from __future__ import annotations

import json
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
