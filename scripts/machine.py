"""What a benchmark ran on, for its results file: the same figures differ twofold between the
machines these benchmarks have run on, so every result names its CPU."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    meminfo = _read("/proc/meminfo")
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "ram_gib": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def load_average() -> list[float]:
    """Over 1, 5 and 15 minutes: how busy the machine was besides the benchmark."""
    return [round(x, 2) for x in os.getloadavg()]


def busy_cpu_seconds() -> float | None:
    """CPU time every core of the machine has spent busy since boot (user, system, interrupts;
    not idle, I/O wait or time stolen by the host), from /proc/stat; None off Linux."""
    first = _read("/proc/stat").split("\n", 1)[0].split()
    if not first or first[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in first[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str:
    file = Path(path)
    return file.read_text() if file.exists() else ""
