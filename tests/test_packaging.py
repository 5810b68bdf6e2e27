"""The wheel: it builds from the project's own files, carries the data it should (profiles, the lab,
the sample config, Grafana files, systemd units, the install guide), and once installed in a fresh
venv `netwatt version`, `print-sample-config` and `check-config` work from the installed copy.

The venv gets netwatt from the wheel only (--no-deps, --no-index) and its dependencies through a
.pth line naming this interpreter's site-packages: no download, and the editable install of the
checkout (a meta-path finder activated by a .pth *file* there) is not activated, so what runs is
the installed wheel.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from agent import __version__

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "agent", "collectors", "config", "systemd", "docs")
DATA = "netwatt-{v}.data/data/share/netwatt/"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the tree, so the build leaves nothing in the checkout."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache")
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=ignore)
        else:
            shutil.copy2(source, src / name)
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(out), str(src)], capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    [built] = out.glob("netwatt-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    assert wheel.name == f"netwatt-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    data = DATA.format(v=__version__)
    expected = {
        "agent/httpapi.py", "agent/sdnotify.py", "agent/py.typed", "collectors/py.typed",
        data + "netwatt.example.yaml", data + "docs/install.md",
        data + "systemd/netwatt.service", data + "systemd/netwatt@.service",
        data + "grafana/dashboards/netwatt-energy.json", data + "grafana/dashboards/netwatt-agent.json",
        data + "grafana/provisioning/datasources/netwatt.yaml", data + "grafana/provisioning/dashboards/netwatt.yaml",
    }
    expected |= {data + "profiles/" + p.name for p in (ROOT / "config" / "profiles").glob("*.yaml")}
    expected |= {data + "lab/" + p.name for p in (ROOT / "config" / "lab").glob("*.snmprec")}
    for folder in ("grid_factors", "models", "wifi"):        # what emissions, estimation and Wi-Fi read at run time
        expected |= {data + f"{folder}/{p.name}" for p in (ROOT / "config" / folder).iterdir() if p.is_file()}
    assert expected <= names, sorted(expected - names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names), "tests or benchmarks in the wheel"
    metadata = zipfile.ZipFile(wheel).read(f"netwatt-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}\n" in metadata
    entry_points = zipfile.ZipFile(wheel).read(f"netwatt-{__version__}.dist-info/entry_points.txt").decode()
    assert "netwatt = agent.cli:main" in entry_points
    # the import names netwatt puts into site-packages (README "Layout": kept generic, guarded at import)
    assert {n.split("/")[0] for n in names} == {"agent", "collectors", f"netwatt-{__version__}.dist-info",
                                                f"netwatt-{__version__}.data"}


def test_a_foreign_collectors_package_is_named_at_once(tmp_path: Path) -> None:
    """Another package called `collectors` earlier on the path: netwatt stops at import, naming it."""
    (tmp_path / "collectors").mkdir()
    (tmp_path / "collectors" / "__init__.py").write_text('"""someone else\'s collectors"""\n')
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-P", "-m", "agent.cli", "version"], capture_output=True, text=True,
                         timeout=60, check=False, cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert f"the package 'collectors' imported from {tmp_path / 'collectors' / '__init__.py'} is not netwatt's" in \
        out.stderr
    ours = subprocess.run([sys.executable, "-P", "-m", "agent.cli", "version"], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)})
    assert ours.returncode == 0, ours.stderr


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "netwatt"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stderr[-3000:]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "dependencies-from-the-test-interpreter.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return root


def run(venv: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETWATT_CONFIG")}
    return subprocess.run([str(venv / "bin" / "netwatt"), *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=venv, env={**clean, **(env or {})})


def test_installed_netwatt_runs_from_the_venv(venv: Path) -> None:
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import agent; print(agent.__file__)"],
                           capture_output=True, text=True, check=True, cwd=venv,
                           env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}).stdout
    assert where.startswith(str(venv)), where
    out = run(venv, "version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"netwatt {__version__} (Python 3.")
    assert "InfluxDB schema 1" in out.stdout


def test_print_sample_config_from_the_installed_data_and_it_checks(venv: Path, tmp_path: Path) -> None:
    out = run(venv, "print-sample-config")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (ROOT / "config" / "netwatt.example.yaml").read_text()
    config = tmp_path / "netwatt.yaml"
    config.write_text(out.stdout)
    credentials = tmp_path / "credentials"       # what systemd makes of /etc/netwatt/credentials/
    credentials.mkdir()
    (credentials / "netwatt_snmp-auth").write_text("auth-passphrase\n")
    (credentials / "netwatt_snmp-priv").write_text("priv-passphrase\n")
    (credentials / "netwatt_netconf-password").write_text("ssh-password\n")
    env = {"SNMP_COMMUNITY": "public-lab", "CREDENTIALS_DIRECTORY": str(credentials)}
    check = run(venv, "check-config", "-c", str(config), env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{config}: ok (3 devices, 3 credentials")
    missing = run(venv, "check-config", "-c", str(config), env={"SNMP_COMMUNITY": "x"})
    assert missing.returncode == 2
    assert "CREDENTIALS_DIRECTORY" in missing.stderr


def test_demo_runs_on_the_installed_data_only(venv: Path) -> None:
    """Profiles, lab walks, grid factors and power models all come from <venv>/share/netwatt."""
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from agent.emissions.bundled import factors_dir; from agent.power.estimate import models_dir;"
         "from agent.power.profile_files import builtin_profile_dirs;"
         "from agent.wifi.adapters.snmp import load_columns;"
         "print(factors_dir(), models_dir(), *builtin_profile_dirs(), sorted(load_columns()[0]))"],
        capture_output=True, text=True, cwd=venv, check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert where.returncode == 0, where.stderr
    share = venv / "share" / "netwatt"
    assert where.stdout.split()[:3] == [str(share / "grid_factors"), str(share / "models"), str(share / "profiles")]
    assert "'aireos'" in where.stdout
    demo = run(venv, "demo")              # long enough for energy intervals to close and be converted
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "emissions (Scope 2, location-based):" in demo.stdout, demo.stdout[-2000:]
    assert "factors: owid-fr-2024" in demo.stdout


def test_installed_data_where_the_install_guide_says(venv: Path) -> None:
    share = venv / "share" / "netwatt"
    guide = (ROOT / "docs" / "install.md").read_text()
    for relative in ("systemd/netwatt.service", "systemd/netwatt@.service", "grafana/dashboards",
                     "grafana/provisioning/datasources/netwatt.yaml", "grafana/provisioning/dashboards/netwatt.yaml"):
        assert (share / relative).exists(), relative
        assert f"/opt/netwatt/share/netwatt/{relative}" in guide, f"docs/install.md does not use {relative}"
    dashboards = {p.name for p in (share / "grafana" / "dashboards").iterdir()}
    assert dashboards == {"netwatt-energy.json", "netwatt-agent.json"}
    # the unit's Documentation= link resolves in an installed netwatt
    [link] = [line for line in (share / "systemd" / "netwatt.service").read_text().splitlines()
              if line.startswith("Documentation=")]
    assert link == "Documentation=file:///opt/netwatt/share/netwatt/docs/install.md"
    assert (share / "docs" / "install.md").read_text() == guide


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """What agent/ and collectors/ import outside the standard library is declared in pyproject.toml
    (with a lower bound), and pysnmp's undeclared cipher library is too."""
    import ast  # noqa: PLC0415
    import importlib.metadata  # noqa: PLC0415
    import re  # noqa: PLC0415
    import tomllib  # noqa: PLC0415
    declared = {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-"): spec
                for spec in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert all(">=" in spec for spec in declared.values()), declared
    distributions = importlib.metadata.packages_distributions()
    imported: set[str] = set()
    for path in [*ROOT.joinpath("agent").rglob("*.py"), *ROOT.joinpath("collectors").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"agent", "collectors", "__future__"}
    needed = {distributions[name][0].lower().replace("_", "-") for name in third_party}
    assert needed - set(declared) == set(), f"imported but not declared: {sorted(needed - set(declared))}"
    assert "cryptography" in declared          # pysnmp's AES/DES (see collectors/snmp/ciphers.py)
