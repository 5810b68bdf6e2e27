"""The Debian package (packaging/deb/build-deb): it builds, `apt-get install ./netwatt_*.deb` installs it
on this machine, the installed netwatt runs (`demo`, `check-config` on the installed sample config), `systemd-analyze
verify` accepts the installed units, and `dpkg -r` keeps /etc/netwatt and the store.

Installs into the real /opt, /etc and /lib/systemd: it needs root (CI runs `bash tests/run` as root, and
there it fails rather than skips) and a machine where no netwatt package is installed; it purges the
package and removes the store it made at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import __version__
from tests.agent_process import ROOT
from tests.test_systemd import verify_problems

STORE = Path("/var/lib/netwatt")
CONFIG = Path("/etc/netwatt/netwatt.yaml")
NETWATT = "/usr/bin/netwatt"      # by path: a `netwatt` earlier on PATH may be the checkout's

# no date logic here, and building the package fetches wheels over TLS, whose certificates a clock
# 400 days ahead may find expired: left out of CI's libfaketime run
pytestmark = pytest.mark.real_clock


def sh(*argv: str, env: dict[str, str] | None = None, timeout: float = 300,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETWATT_CONFIG", "VIRTUAL_ENV")}
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False,
                          env={**clean, **(env or {})}, cwd=cwd or Path("/"))


def installed_version() -> str | None:
    out = sh("dpkg-query", "-W", "-f=${Status} ${Version}", "netwatt")
    return out.stdout.split()[-1] if out.returncode == 0 and "ok installed" in out.stdout else None


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.geteuid() != 0 or not shutil.which("dpkg-deb"):
        reason = "installing the .deb needs root and dpkg"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("deb")
    build = sh(str(ROOT / "packaging" / "deb" / "build-deb"), str(out), timeout=900, cwd=ROOT)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    [built] = out.glob("*.deb")
    assert built.name == f"netwatt_{__version__}-1_amd64.deb"
    return built


@pytest.fixture(scope="module")
def installed(deb: Path) -> Iterator[Path]:
    assert installed_version() is None, "a netwatt package is installed on this machine: not touching it"
    assert not STORE.exists(), f"{STORE} exists: not touching it"
    # as docs/install.md says; apt checks the dependencies (python3.11) and waits for a held lock
    install = sh("apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", str(deb), timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    try:
        yield deb
    finally:
        sh("dpkg", "--purge", "netwatt")
        shutil.rmtree(STORE, ignore_errors=True)


@pytest.mark.integration
def test_package_contents(deb: Path) -> None:
    listing = sh("dpkg-deb", "-c", str(deb)).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for path in ("/opt/netwatt/bin/netwatt", "/opt/netwatt/bin/python3", "/usr/bin/netwatt",
                 "/lib/systemd/system/netwatt.service", "/lib/systemd/system/netwatt@.service",
                 "/etc/netwatt/netwatt.yaml", "/usr/share/netwatt/netwatt.example.yaml",
                 "/usr/share/netwatt/grafana/dashboards/netwatt-energy.json",
                 "/usr/share/netwatt/grafana/dashboards/netwatt-agent.json",
                 "/usr/share/netwatt/grafana/provisioning/datasources/netwatt.yaml",
                 "/opt/netwatt/share/netwatt/docs/install.md", "/usr/share/doc/netwatt/copyright"):
        assert path in paths, f"{path} not in the package"
    assert not any(p.startswith(("/var/", "/tmp/", "/root/")) for p in paths), "the package must not own the store"
    assert all(" root/root " in line for line in listing.splitlines())
    info = sh("dpkg-deb", "-f", str(deb), "Package", "Version", "Depends").stdout
    assert info.split("\n")[:3] == ["Package: netwatt", f"Version: {__version__}-1", "Depends: python3.11"]
    assert sh("dpkg-deb", "--info", str(deb), "conffiles").stdout.split() == [str(CONFIG)]


@pytest.mark.integration
def test_installed_netwatt_runs_the_demo_and_checks_the_config(installed: Path, tmp_path: Path) -> None:
    version = sh(NETWATT, "version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith(f"netwatt {__version__} (Python 3.11.")
    where = sh("/opt/netwatt/bin/python", "-c", "import agent, sys; print(agent.__file__, sys.executable)")
    assert where.stdout.startswith("/opt/netwatt/lib/python3.11/site-packages/agent/__init__.py"), where
    credentials = tmp_path / "credentials"       # what systemd makes of /etc/netwatt/credentials/
    credentials.mkdir()
    for name in ("netwatt_snmp-auth", "netwatt_snmp-priv", "netwatt_netconf-password"):
        (credentials / name).write_text("not-a-real-secret\n")
    check = sh(NETWATT, "check-config", "-c", str(CONFIG),
               env={"SNMP_COMMUNITY": "public-lab", "CREDENTIALS_DIRECTORY": str(credentials)})
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{CONFIG}: ok (3 devices")
    demo = sh(NETWATT, "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "emissions (Scope 2, location-based):" in demo.stdout, demo.stdout[-2000:]


@pytest.mark.integration
def test_installed_units_verify(installed: Path, tmp_path: Path) -> None:
    unit = Path("/lib/systemd/system/netwatt.service")
    assert "ExecStart=/opt/netwatt/bin/netwatt run " in unit.read_text()
    assert verify_problems(unit) == ""
    instance = tmp_path / "netwatt@1-2.service"
    shutil.copy(Path("/lib/systemd/system/netwatt@.service"), instance)
    assert verify_problems(instance) == ""


@pytest.mark.integration
def test_remove_keeps_the_config_and_the_store(installed: Path, tmp_path: Path) -> None:
    # a store the installed agent made, and a local edit of the config
    CONFIG.write_text(CONFIG.read_text() + "# edited on this host\n")
    config = tmp_path / "store-only.yaml"
    config.write_text(f"version: 1\nagent: {{state_directory: {STORE}}}\n")
    made = sh(NETWATT, "run", "--once", "-c", str(config))
    assert (STORE / "netwatt.db").is_file(), made.stderr
    remove = sh("dpkg", "-r", "netwatt")
    assert remove.returncode == 0, remove.stderr
    assert installed_version() is None
    assert not Path("/opt/netwatt/bin/netwatt").exists()
    assert CONFIG.read_text().endswith("# edited on this host\n"), "dpkg -r must keep /etc/netwatt"
    assert Path("/etc/netwatt/credentials").is_dir()
    assert (STORE / "netwatt.db").is_file(), "dpkg -r must keep the store"
    status = sh("dpkg-query", "-W", "-f=${Status}", "netwatt").stdout
    assert status == "deinstall ok config-files", status
