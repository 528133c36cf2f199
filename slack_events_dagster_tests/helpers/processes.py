"""Stopping a server process a test started."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 30 s.

    A server stops at once on SIGTERM; the wait is long only because a shared machine
    can stall a process's exit for seconds, which is no failure of the server.
    """
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
