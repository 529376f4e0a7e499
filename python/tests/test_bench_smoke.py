"""The benchmark's verification part runs (tiny iterations, no figures checked): tokenkeeper,
PyJWT and authlib.jose each accept the issuer's token and refuse a tampered, an expired, a
wrong-audience and a wrong-issuer one. The benchmark itself is python/bench/run.sh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"


def test_the_verification_benchmark_runs() -> None:
    p = subprocess.run(
        [sys.executable, str(BENCH), "--only", "verify", "--quick", "--verify-seconds", "0.05"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    for row in ("| tokenkeeper `TokenVerifier` |", "| PyJWT `PyJWKClient` + `jwt.decode` |", "| authlib `authlib.jose` |"):
        assert row in out
    assert "refused each of: tampered payload, expired, wrong audience, wrong issuer" in out
    assert "JWKS requests while timing: 0" in out
