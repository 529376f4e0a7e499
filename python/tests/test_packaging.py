"""What ships: the tokenkeeper wheel carries no local issuer; tokenkeeper-testing does, at the
same version; tokenkeeper.testing says what to install when it is missing or mismatched."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tokenkeeper
import tokenkeeper_testing

WHEELS = os.environ.get("TOKENKEEPER_WHEEL_DIR")


def wheel(name: str) -> Path:
    if not WHEELS:
        pytest.fail("TOKENKEEPER_WHEEL_DIR is not set (python/test.sh sets it)")
    found = sorted(Path(WHEELS, name).glob("*.whl"))
    assert len(found) == 1, found
    return found[0]


def test_the_tokenkeeper_wheel_has_no_issuer() -> None:
    assert not hasattr(tokenkeeper._native, "Issuer")
    assert not hasattr(tokenkeeper._native, "Fault")
    with zipfile.ZipFile(wheel("tokenkeeper")) as z:
        names = z.namelist()
        native = [n for n in names if n.startswith("tokenkeeper/_native")]
        assert native, names
        assert not any(n.startswith("tokenkeeper_testing") for n in names)
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        text = z.read(metadata).decode()
    assert "Provides-Extra: testing" in text
    # The issuer's server, key generation and CA are not linked in.
    blob = Path(tokenkeeper._native.__file__).read_bytes()
    assert b"axum" not in blob and b"rcgen" not in blob


def test_the_testing_wheel_holds_the_issuer_at_the_same_version() -> None:
    assert tokenkeeper_testing.__version__ == tokenkeeper.__version__
    with zipfile.ZipFile(wheel("tokenkeeper-testing")) as z:
        names = z.namelist()
    assert any(n.startswith("tokenkeeper_testing/_issuer") for n in names), names
    assert "tokenkeeper_testing/_issuer.pyi" in names and "tokenkeeper_testing/py.typed" in names
    assert "tokenkeeper_testing/local.py" in names, names  # LocalIssuer, behind tokenkeeper.testing
    assert not any(n.startswith("tokenkeeper/") for n in names), names


def _import_testing(prelude: str) -> subprocess.CompletedProcess[str]:
    code = prelude + "\nimport tokenkeeper.testing\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_without_tokenkeeper_testing_the_import_says_what_to_install() -> None:
    # sys.modules[name] = None: what an interpreter without the package does on import.
    p = _import_testing("import sys; sys.modules['tokenkeeper_testing'] = None")
    assert p.returncode != 0
    assert "ImportError: tokenkeeper.testing needs the local issuer of the tokenkeeper-testing" in p.stderr
    assert "pip install 'tokenkeeper[testing]'" in p.stderr


def test_a_mismatched_tokenkeeper_testing_is_refused() -> None:
    prelude = (
        "import sys, types, tokenkeeper_testing as t\n"
        "fake = types.ModuleType('tokenkeeper_testing')\n"
        "fake.Fault, fake.Issuer, fake.__version__ = t.Fault, t.Issuer, '0.0.1'\n"
        "sys.modules['tokenkeeper_testing'] = fake"
    )
    p = _import_testing(prelude)
    assert p.returncode != 0
    assert f"tokenkeeper-testing 0.0.1 is installed, but tokenkeeper is {tokenkeeper.__version__}" in p.stderr


def test_a_taken_port_is_a_network_error() -> None:
    from tokenkeeper.testing import LocalIssuer

    with LocalIssuer() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(tokenkeeper.NetworkError, match=rf"^network error: cannot start the local issuer on 127.0.0.1:{port}: "):
            LocalIssuer(port=port)


def test_the_python_demo_without_tokenkeeper_testing_is_a_config_error() -> None:
    code = (
        "import sys; sys.modules['tokenkeeper_testing'] = None\n"
        "from tokenkeeper.cli import main; sys.exit(main(['demo']))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("tokenkeeper: tokenkeeper.testing needs the local issuer"), p.stderr
    assert p.stdout == ""


ROOT = Path(__file__).resolve().parents[2]


def test_the_release_workflow_parses_and_runs_scripts_that_exist() -> None:
    import yaml  # type: ignore[import-untyped]  # PyYAML, installed by python/test.sh
    flow = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    jobs = flow["jobs"]
    assert {"package", "android", "release"} <= set(jobs)
    runs = [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]
    scripts = {word for run in runs for word in run.split() if word.startswith("scripts/")}
    assert {"scripts/test.sh", "scripts/package.sh", "scripts/package-android.sh"} <= scripts
    called = scripts | {"scripts/package-apple.sh", "scripts/package-kotlin.sh", "ffi/install.sh"}
    for script in sorted(called):
        path = ROOT / script
        assert path.is_file() and os.access(path, os.X_OK), script
        p = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, (script, p.stderr)


def test_platform_names_of_libraries() -> None:
    # What the packaging scripts call each platform's libraries (scripts/platform.sh), with
    # `uname` stood in for each platform.
    cases = {
        ("Linux", "x86_64"): "libtokenkeeper.so libtokenkeeper.a linux-x86-64",
        ("Linux", "aarch64"): "libtokenkeeper.so libtokenkeeper.a linux-aarch64",
        ("Darwin", "arm64"): "libtokenkeeper.dylib libtokenkeeper.a darwin-aarch64",
        ("Darwin", "x86_64"): "libtokenkeeper.dylib libtokenkeeper.a darwin-x86-64",
        ("MINGW64_NT-10.0", "x86_64"): "tokenkeeper.dll tokenkeeper.lib win32-x86-64",
    }
    for (system, machine), expected in cases.items():
        script = (
            f'uname() {{ case "$1" in -s) echo {system} ;; -m) echo {machine} ;; esac; }}\n'
            f"source {ROOT / 'scripts/platform.sh'}\n"
            'echo "$(dylib tokenkeeper) $(staticlib tokenkeeper) $JNA_PREFIX"'
        )
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        assert p.stdout.strip() == expected, (system, machine, p.stdout, p.stderr)
