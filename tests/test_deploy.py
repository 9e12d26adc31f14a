"""deploy/: every variant checked with the tools that exist here (no Docker daemon, no cluster).

* every YAML file parses;
* Prometheus configs (deploy/prometheus.yml, compose, systemd, local) pass ``promtool check config``
  with the repository's rules resolved where the variant mounts or installs them, and keep the
  scrape contract (job "monitor", target label ``prober``);
* every Alertmanager config shipped or rendered passes ``amtool check-config``; the local render
  keeps alerts/alertmanager.yml's routes and inhibitions unchanged;
* compose: every local path it references exists; ports on loopback only;
* kubernetes: render.py output (PrometheusRule groups = alerts/rules, ConfigMap = checks/), and
  ``kubectl kustomize`` of the whole tree when kubectl is installed;
* systemd units parse as INI with the keys systemd needs; install.sh into a DESTDIR.

And the hardening, so that it stays (each test fails when its property is removed):

* systemd: ``systemd-analyze security --offline`` rates both prober units at most 3.0; UMask=0077,
  StateDirectory= holding the store, the sandbox that leaves the prober its network; MONITOR_CHECKS
  survives systemd's unquoting as JSON;
* the Telegram token is in no process's argv: install.sh and the compose entrypoint use shell
  builtins only (a static check), and under strace no execve carries it;
* compose: every service read-only, without capabilities, no-new-privileges, with a memory limit;
* kubernetes: a NetworkPolicy lets only Prometheus pods reach the probers' metrics port; the
  probers' pods and service account mount no API token.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.tools import tool

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
LOCAL = DEPLOY / "local"
RULES = REPO / "alerts" / "rules"
AM_SOURCE = REPO / "alerts" / "alertmanager.yml"



def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml") and "generated" not in p.parts)


# --- every YAML ---------------------------------------------------------------------------------


def test_every_yaml_file_under_deploy_parses():
    files = yaml_files()
    assert len(files) >= 15, files
    for path in files:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        shape = list if path.parent.name == "file_sd" else dict  # Prometheus file_sd: a list of target groups
        assert documents and all(isinstance(d, shape) for d in documents), path


def test_scripts_are_valid_bash_and_executable():
    for script in [*DEPLOY.rglob("*.sh")]:
        run("bash", "-n", str(script))
        assert script.stat().st_mode & 0o111 or script.name == "alertmanager-entrypoint.sh", f"{script} not executable"
    if shutil.which("shellcheck"):
        run("shellcheck", "-S", "warning", *map(str, DEPLOY.rglob("*.sh")))


# --- Prometheus ---------------------------------------------------------------------------------


def check_prometheus(config: dict, directory: Path, rules_expected: bool = True) -> None:
    """promtool check config on ``config`` (written into ``directory``), plus the scrape contract."""
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert "monitor" in jobs, "the rules read job=\"monitor\""
    for static in jobs["monitor"]["static_configs"]:
        assert static.get("labels", {}).get("prober"), f"target {static['targets']} without label prober"
        assert "location" not in static.get("labels", {}), "a target label `location` clashes with the series'"
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = run(tool("promtool"), "check", "config", str(path)).stdout
    if rules_expected:
        assert f"SUCCESS: {len(list(RULES.glob('*.yml')))} rule files found" in out, out


def test_shipped_scrape_config_passes_promtool(tmp_path):
    check_prometheus(load(DEPLOY / "prometheus.yml"), tmp_path, rules_expected=False)


def test_compose_prometheus_config_passes_promtool_with_the_mounted_rules(tmp_path):
    config = load(COMPOSE / "prometheus.yml")
    mounts = volume_mounts(compose()["services"]["prometheus"])
    rewritten = []
    for pattern in config["rule_files"]:
        container_dir = str(Path(pattern).parent)
        assert container_dir in mounts, f"rule_files {pattern}: {container_dir} is not mounted"
        assert mounts[container_dir].resolve() == RULES
        rewritten.append(str(mounts[container_dir] / Path(pattern).name))
    config["rule_files"] = rewritten
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert {t for s in config["scrape_configs"] if s["job_name"] == "monitor" for c in s["static_configs"]
            for t in c["targets"]} == {"monitor:9180"}
    check_prometheus(config, tmp_path)


TOKEN = "123456:TEST&not|a/token"  # "&", "|" and "/": special to sed, "&" to bash >= 5.2's ${//}


def install_systemd(destdir: Path, *wrapper: str) -> None:
    token = destdir / "telegram_bot_token"
    destdir.mkdir(parents=True, exist_ok=True)
    token.write_text(TOKEN, encoding="utf-8")
    run(*wrapper, "bash", str(SYSTEMD / "install.sh"), env={"PATH": "/usr/bin:/bin", "DESTDIR": str(destdir),
                                                            "TELEGRAM_TOKEN_FILE": str(token)})


def test_systemd_install_writes_configs_that_pass_promtool_and_amtool(tmp_path):
    dest = tmp_path / "root"
    install_systemd(dest)
    etc = dest / "etc" / "prometheus"
    assert sorted(p.name for p in (etc / "rules" / "monitor").iterdir()) == sorted(p.name for p in RULES.glob("*.yml"))
    config = load(etc / "prometheus.yml")
    assert config == load(SYSTEMD / "prometheus.yml")
    config["rule_files"] = [str(dest) + pattern for pattern in config["rule_files"]]
    check_prometheus(config, tmp_path)
    rendered = (etc / "alertmanager.yml").read_text(encoding="utf-8")
    assert "__TELEGRAM_BOT_TOKEN__" not in rendered and f'bot_token: "{TOKEN}"' in rendered
    assert (etc / "alertmanager.yml").stat().st_mode & 0o007 == 0, "the config holds the token: not world-readable"
    assert yaml.safe_load(rendered) == load(AM_SOURCE) | {"receivers": yaml.safe_load(rendered)["receivers"]}
    run(tool("amtool"), "check-config", str(etc / "alertmanager.yml"))  # templates/ next to it
    for unit in ("monitor@.service", "prometheus.service.d/monitor.conf",
                 "prometheus-alertmanager.service.d/monitor.conf"):
        assert (dest / "etc" / "systemd" / "system" / unit).read_text() == (SYSTEMD / unit).read_text()
    assert sorted(p.name for p in (dest / "etc" / "monitor" / "checks").iterdir()) == \
        sorted(p.name for p in (REPO / "checks").glob("*.yml"))


def test_local_start_dry_run_writes_valid_configs_for_every_target(tmp_path):
    done = run("bash", str(LOCAL / "start.sh"), "--dry-run", "--data-dir", str(tmp_path),
               "--target", "127.0.0.1:9180=hanoi", "--target", "127.0.0.1:9181=caobang",
               "--webhook", "http://127.0.0.1:9/hook", "--group-wait", "5s",
               env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert f"prometheus-config {tmp_path}/prometheus.yml" in done.stdout
    config = load(tmp_path / "prometheus.yml")
    assert config["rule_files"] == [f"{RULES}/*.yml"]
    assert [c["labels"]["prober"] for c in config["scrape_configs"][0]["static_configs"]] == ["hanoi", "caobang"]
    (tmp_path / "check").mkdir()
    check_prometheus(config, tmp_path / "check")
    assert not list(tmp_path.glob("prometheus/*")), "--dry-run started Prometheus"


# --- Alertmanager -------------------------------------------------------------------------------


def render_local(*args: str) -> dict:
    done = run(sys.executable, str(LOCAL / "render_alertmanager.py"), *args)
    return yaml.safe_load(done.stdout)


def test_local_render_keeps_routing_and_inhibition_and_sends_only_to_the_webhook(tmp_path):
    source = load(AM_SOURCE)
    rendered = render_local("--webhook", "http://127.0.0.1:9/hook")
    assert rendered["route"] == source["route"] and rendered["inhibit_rules"] == source["inhibit_rules"]
    assert [r["name"] for r in rendered["receivers"]] == [r["name"] for r in source["receivers"]]
    assert all(r == {"name": r["name"], "webhook_configs": [{"url": "http://127.0.0.1:9/hook", "send_resolved": True}]}
               for r in rendered["receivers"])
    assert all(Path(t).is_absolute() for t in rendered["templates"])
    silent = render_local()
    assert all(set(r) == {"name"} for r in silent["receivers"]), "without --webhook nothing may be sent"
    timed = render_local("--group-wait", "5s", "--group-interval", "10s", "--repeat-interval", "1h")
    routes = [timed["route"], *timed["route"]["routes"]]
    assert all(r["group_wait"] == "5s" and r["group_interval"] == "10s" and r["repeat_interval"] == "1h"
               for r in routes)
    assert [r["matchers"] for r in timed["route"]["routes"]] == [r["matchers"] for r in source["route"]["routes"]]
    for name, config in (("webhook", rendered), ("silent", silent), ("timed", timed)):
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        run(tool("amtool"), "check-config", str(path))
        # routing is the shipped one: a page goes to oncall-page, anything else to ops-ticket
        out = run(tool("amtool"), "config", "routes", "test", f"--config.file={path}", "severity=page",
                  "platform=gqthc").stdout
        assert out.strip() == "oncall-page", out


def run_entrypoint(tmp_path: Path, shell: list[str], *wrapper: str) -> Path:
    """deploy/compose/alertmanager-entrypoint.sh with the container's paths moved under ``tmp_path``;
    "Alertmanager" is echo. Returns the directory of the config it wrote."""
    secrets, out = tmp_path / "secrets", tmp_path / "config"
    secrets.mkdir()
    (secrets / "telegram_bot_token").write_text(TOKEN, encoding="utf-8")  # no newline, as secrets/README.md says
    done = run(*wrapper, *shell, str(COMPOSE / "alertmanager-entrypoint.sh"),
               env={"PATH": "/usr/bin:/bin", "AM_SRC": str(REPO / "alerts"), "AM_SECRETS": str(secrets),
                    "AM_CONFIG_DIR": str(out), "AM_BINARY": "/bin/echo"})
    assert done.stdout.split() == [f"--config.file={out}/alertmanager.yml", "--storage.path=/alertmanager",
                                   "--web.listen-address=:9093", "--cluster.listen-address="]
    return out


def shells() -> list[list[str]]:
    """dash (Debian's sh) and, when installed, busybox's ash: the prom/alertmanager image's /bin/sh."""
    found = [["sh"]]
    if shutil.which("busybox"):
        found.append(["busybox", "sh"])
    return found


@pytest.mark.parametrize("shell", shells(), ids=lambda s: s[0])
def test_compose_alertmanager_config_is_the_shipped_one_with_the_token(tmp_path, shell):
    out = run_entrypoint(tmp_path, shell)
    rendered = (out / "alertmanager.yml").read_text(encoding="utf-8")
    assert rendered == AM_SOURCE.read_text(encoding="utf-8").replace("__TELEGRAM_BOT_TOKEN__", TOKEN)
    assert (out / "alertmanager.yml").stat().st_mode & 0o077 == 0, "the config holds the token: owner only"
    assert (out / "templates").resolve() == REPO / "alerts" / "templates"
    run(tool("amtool"), "check-config", str(out / "alertmanager.yml"))


# --- compose ------------------------------------------------------------------------------------


def compose() -> dict:
    return load(COMPOSE / "docker-compose.yml")


def volume_mounts(service: dict) -> dict[str, Path]:
    """Container path -> host path of every bind mount of a compose service."""
    mounts = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith((".", "/")):
            mounts[container] = (COMPOSE / host).resolve()
    return mounts


def test_compose_references_only_files_that_exist():
    spec = compose()
    named = set(spec.get("volumes", {}))
    secrets_readme = (COMPOSE / "secrets" / "README.md").read_text(encoding="utf-8")
    for name, service in spec["services"].items():
        build = service.get("build")
        if build:
            context = (COMPOSE / build["context"]).resolve()
            assert context.is_dir() and (context / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith((".", "/")):
                assert (COMPOSE / host).exists(), f"{name}: bind mount {host} does not exist"
            else:
                assert host in named, f"{name}: volume {host} is not declared"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} published beyond loopback"
        for secret in service.get("secrets", []):
            assert secret in spec["secrets"], f"{name}: secret {secret} not declared"
    for name, secret in spec.get("secrets", {}).items():
        path = (COMPOSE / secret["file"]).resolve()
        assert path.parent == COMPOSE / "secrets" and f"`{path.name}`" in secrets_readme, \
            f"secret {name}: {secret['file']} must be a documented file in secrets/"
    # the alertmanager entrypoint's secret and every secret the shipped config reads are documented
    for needed in ("telegram_bot_token", "smtp_password", "paging_webhook_token"):
        assert f"`{needed}`" in secrets_readme and needed in AM_SOURCE.read_text() + (
            COMPOSE / "alertmanager-entrypoint.sh").read_text()
    ignored = (COMPOSE / "secrets" / ".gitignore").read_text().split()
    assert ignored[0] == "*", "secrets/ must ignore everything but its README"


def test_compose_grafana_provisioning_points_at_the_dashboards_and_prometheus():
    grafana = volume_mounts(compose()["services"]["grafana"])
    providers = [p for f in (COMPOSE / "grafana/provisioning/dashboards").glob("*.yml") for p in load(f)["providers"]]
    assert providers
    for provider in providers:
        assert grafana[provider["options"]["path"]] == REPO / "dashboards"
    sources = [d for f in (COMPOSE / "grafana/provisioning/datasources").glob("*.yml") for d in load(f)["datasources"]]
    assert [s["url"] for s in sources if s["type"] == "prometheus"] == ["http://prometheus:9090"]
    for directory in ("datasources", "dashboards"):
        assert grafana[f"/etc/grafana/provisioning/{directory}"] == COMPOSE / "grafana" / "provisioning" / directory


def test_dockerfile_copies_only_what_exists_and_the_build_context_keeps():
    dockerfile = (COMPOSE / "Dockerfile").read_text(encoding="utf-8")
    sources = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            sources += line.split()[1:-1]
    assert sources, "no COPY"
    ignore = (COMPOSE / "Dockerfile.dockerignore").read_text().split()
    for source in sources:
        assert (REPO / source).exists(), source
        assert f"!{source.rstrip('/')}" in [i.rstrip("/") for i in ignore], f"{source} excluded by the dockerignore"
    assert "MONITOR_LISTEN_ADDRESS=0.0.0.0" in dockerfile  # else Prometheus cannot scrape the container


# --- kubernetes ---------------------------------------------------------------------------------


@pytest.fixture()
def k8s_tree(tmp_path):
    """A copy of deploy/kubernetes with render.py's output in it."""
    tree = tmp_path / "kubernetes"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("generated"))
    run(sys.executable, str(tree / "render.py"), "--out", str(tree / "common" / "generated"),
        "--rules", str(RULES), "--checks", str(REPO / "checks"))
    return tree


def rule_groups() -> list[dict]:
    return [group for path in sorted(RULES.glob("*.yml")) for group in load(path)["groups"]]


def test_rendered_prometheus_rule_is_alerts_rules_and_configmap_is_checks(k8s_tree):
    generated = k8s_tree / "common" / "generated"
    rule = load(generated / "prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule" and rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == rule_groups()
    names = [g["name"] for g in rule_groups()]
    assert len(names) == len(set(names)), f"group names must be unique in one PrometheusRule: {names}"
    kustomization = load(generated / "kustomization.yaml")
    files = kustomization["configMapGenerator"][0]["files"]
    assert [Path(f).name for f in files] == sorted(p.name for p in (REPO / "checks").glob("*.yml"))
    for file in files:
        assert (generated / file).read_bytes() == (REPO / "checks" / Path(file).name).read_bytes()


def test_kubernetes_manifests_have_the_expected_kinds_and_references(k8s_tree):
    kinds = {}
    for path in sorted(k8s_tree.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            kinds.setdefault(document["kind"], []).append(path)
            if document["kind"] == "Kustomization":
                for entry in document.get("resources", []):
                    assert (path.parent / entry).exists(), f"{path}: resource {entry} missing"
                for generator in document.get("configMapGenerator", []):
                    for file in generator.get("files", []):
                        assert (path.parent / file.split("=")[-1]).exists(), f"{path}: {file} missing"
    assert {"Deployment", "Service", "PersistentVolumeClaim", "ServiceMonitor", "PrometheusRule", "Namespace",
            "Kustomization"} <= set(kinds)
    monitor = load(k8s_tree / "common" / "servicemonitor.yaml")["spec"]
    assert monitor["jobLabel"] == "app.kubernetes.io/name" and monitor["targetLabels"] == ["prober"]
    locations = sorted(p.name for p in (k8s_tree / "locations").iterdir())
    listed = load(k8s_tree / "kustomization.yaml")["resources"]
    assert [f"locations/{name}" for name in locations] == sorted(r for r in listed if r.startswith("locations/"))


def test_kustomize_build_output(k8s_tree):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed; the static checks above still ran")
    documents = list(yaml.safe_load_all(run(kubectl, "kustomize", str(k8s_tree)).stdout))
    by_kind: dict[str, list[dict]] = {}
    for document in documents:
        by_kind.setdefault(document["kind"], []).append(document)
        assert document["kind"] == "Namespace" or document["metadata"]["namespace"] == "party-platform-monitor"
    locations = sorted(p.name for p in (K8S / "locations").iterdir())
    assert sorted(d["metadata"]["labels"]["prober"] for d in by_kind["Deployment"]) == locations
    assert sorted(s["metadata"]["labels"]["prober"] for s in by_kind["Service"]) == locations
    [configmap] = by_kind["ConfigMap"]
    assert configmap["metadata"]["name"] == "monitor-checks"
    assert sorted(configmap["data"]) == sorted(p.name for p in (REPO / "checks").glob("*.yml"))
    for deployment in by_kind["Deployment"]:
        location = deployment["metadata"]["labels"]["prober"]
        spec = deployment["spec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
        assert env["MONITOR_LOCATION"] == location and env["MONITOR_LISTEN_ADDRESS"] == "0.0.0.0"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["checks"]["configMap"]["name"] == "monitor-checks"
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == f"monitor-data-{location}"
        assert deployment["spec"]["selector"]["matchLabels"]["prober"] == location
    for service in by_kind["Service"]:
        assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "monitor"  # -> job="monitor"
        assert service["spec"]["selector"]["prober"] == service["metadata"]["labels"]["prober"]
    [rule] = by_kind["PrometheusRule"]
    assert rule["spec"]["groups"] == rule_groups()
    assert len(by_kind["ServiceMonitor"]) == 1


# --- systemd ------------------------------------------------------------------------------------


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


@pytest.mark.parametrize("name", ["monitor@.service", "../monitor.service"])
def test_monitor_units_parse_with_the_required_keys(name):
    parsed = unit(SYSTEMD / name)
    assert parsed["Unit"]["Description"] and parsed["Install"]["WantedBy"] == "multi-user.target"
    service = parsed["Service"]
    assert service["ExecStart"].endswith("monitor run") and service["User"] == "monitor"
    assert service["KillSignal"] == "SIGTERM" and service["StateDirectory"].startswith("monitor")
    environment = (SYSTEMD / name).read_text()
    assert "MONITOR_LISTEN_ADDRESS=127.0.0.1" in environment
    if "@" in name:
        assert "Environment=MONITOR_LOCATION=%i" in environment and "%i" in service["StateDirectory"]


@pytest.mark.parametrize("dropin",
                         sorted(p.relative_to(SYSTEMD).as_posix() for p in SYSTEMD.glob("*.service.d/*.conf")))
def test_debian_package_dropins_reset_and_replace_execstart(dropin):
    lines = [line for line in (SYSTEMD / dropin).read_text().splitlines() if line.startswith("ExecStart=")]
    assert lines[0] == "ExecStart=" and len(lines) == 2, "a drop-in must reset ExecStart= before replacing it"
    unit(SYSTEMD / dropin)  # parses
    command = lines[1]
    package_binary = {"prometheus.service.d": "/usr/bin/prometheus ",
                      "prometheus-alertmanager.service.d": "/usr/bin/prometheus-alertmanager "}[dropin.split("/")[0]]
    assert command.removeprefix("ExecStart=").startswith(package_binary)
    assert "--web.listen-address=127.0.0.1:" in command and command.endswith("$ARGS")
    if "alertmanager" in dropin:
        assert "--cluster.listen-address= " in command


# --- hardening: systemd ---------------------------------------------------------------------------

PROBER_UNITS = ["systemd/monitor@.service", "monitor.service"]  # relative to deploy/
MAX_EXPOSURE = 3.0  # systemd-analyze's scale: 0 (locked down) … 10 (UNSAFE); issue 14 asks for <= 3.0


def service_directives(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of the [Service] section, in order (systemd allows repeated keys)."""
    directives: dict[str, list[str]] = {}
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and line and not line.startswith(("#", ";")) and "=" in line:
            key, value = line.split("=", 1)
            directives.setdefault(key.strip(), []).append(value.strip())
    return directives


def last(directives: dict[str, list[str]], key: str) -> str:
    assert key in directives, f"{key}= is not set"
    return directives[key][-1]


def systemd_analyze_offline() -> str:
    """The path of a systemd-analyze that knows ``security --offline`` (systemd >= 250), or skip."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd); the static checks still ran")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.match(r"systemd (\d+)", version)
    if not found or int(found.group(1)) < 250:
        pytest.skip(f"systemd-analyze {version.splitlines()[0] if version else '?'} has no security --offline (>= 250)")
    return path


@pytest.mark.parametrize("name", PROBER_UNITS)
def test_prober_units_pass_systemd_analyze_security(name):
    analyze = systemd_analyze_offline()
    # --threshold is on systemd's internal 0-100 scale: 30 is the 3.0 it prints
    done = subprocess.run([analyze, "security", "--offline=true", f"--threshold={int(MAX_EXPOSURE * 10)}",
                           "--no-pager", str(DEPLOY / name)], capture_output=True, text=True, timeout=60,
                          check=False)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE and done.returncode == 0, \
        f"{name}: exposure {found.group(1)} > {MAX_EXPOSURE}:\n{done.stdout}"
    assert done.stderr.strip() == "", f"systemd does not understand {name}:\n{done.stderr}"  # e.g. "Unknown key"


@pytest.mark.parametrize("name", PROBER_UNITS)
def test_prober_units_keep_the_store_private_and_in_the_state_directory(name):
    service = service_directives(DEPLOY / name)
    assert last(service, "UMask") == "0077", "the store holds complaint text: files owner-only"
    state = last(service, "StateDirectory").replace("%i", "hanoi")
    assert last(service, "StateDirectoryMode") == "0700"
    assert last(service, "ProtectSystem") == "strict", "the state directory must be the only writable place"
    environment = environment_of(DEPLOY / name)
    store = Path(environment["MONITOR_STORE"])
    assert store.parent == Path("/var/lib") / state, f"MONITOR_STORE {store} is outside StateDirectory={state}"
    assert last(service, "User") == "monitor" and last(service, "Group") == "monitor"


@pytest.mark.parametrize("name", PROBER_UNITS)
def test_prober_units_sandbox_everything_but_the_probers_network(name):
    service = service_directives(DEPLOY / name)
    # what the prober needs: outbound TCP/UDP over IPv4 and IPv6 to anywhere, a listening port for /metrics
    families = last(service, "RestrictAddressFamilies").split()
    assert {"AF_INET", "AF_INET6"} <= set(families) and not families[0].startswith("~"), families
    assert service.get("PrivateNetwork", ["false"])[-1] in ("false", "no"), "the probes need the host's network"
    assert "any" not in " ".join(service.get("IPAddressDeny", [])), "the probed platforms are anywhere"
    assert int(environment_of(DEPLOY / name)["MONITOR_LISTEN_PORT"]) >= 1024, "no CAP_NET_BIND_SERVICE"
    # what it does not: privileges, other users' files, the kernel, namespaces
    for key, value in {"NoNewPrivileges": "true", "CapabilityBoundingSet": "", "PrivateTmp": "true",
                       "PrivateDevices": "true", "PrivateUsers": "true", "ProtectHome": "true",
                       "ProtectKernelTunables": "true", "ProtectKernelModules": "true", "ProtectKernelLogs": "true",
                       "ProtectControlGroups": "true", "RestrictNamespaces": "true", "RestrictSUIDSGID": "true",
                       "MemoryDenyWriteExecute": "true", "SystemCallArchitectures": "native"}.items():
        assert last(service, key) == value, f"{name}: {key}={last(service, key)}, expected {value!r}"
    assert service["SystemCallFilter"][0] == "@system-service"


def environment_of(path: Path, instance: str = "hanoi") -> dict[str, str]:
    """The unit's Environment= as systemd passes it: each line split into words with quotes removed
    (shlex: the same rules for '…', "…" and \\ as systemd's), %i replaced by ``instance``."""
    environment = {}
    for value in service_directives(path).get("Environment", []):
        for word in shlex.split(value.replace("%i", instance)):
            key, _, item = word.partition("=")
            environment[key] = item
    return environment


@pytest.mark.parametrize("name", PROBER_UNITS)
def test_prober_units_environment_reaches_the_settings_as_written(name, monkeypatch):
    """MONITOR_CHECKS is JSON: unquoted, systemd strips its double quotes and `monitor` refuses to start."""
    from monitor.config.settings import Settings

    environment = environment_of(DEPLOY / name)
    assert json.loads(environment["MONITOR_CHECKS"]) == ["/etc/monitor/checks"]
    for key in [k for k in os.environ if k.upper().startswith("MONITOR_")]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.checks == [Path("/etc/monitor/checks")] and settings.location == "hanoi"
    assert str(settings.store) == environment["MONITOR_STORE"] and settings.listen_address == "127.0.0.1"


# --- hardening: the Telegram token in no process's argv ---------------------------------------------------

TOKEN_SCRIPTS = {"systemd/install.sh": "token", "compose/alertmanager-entrypoint.sh": "token"}


@pytest.mark.parametrize("script", sorted(TOKEN_SCRIPTS))
def test_the_token_is_expanded_only_by_shell_builtins(script):
    """Static: every line that expands the token variable is an assignment, printf (a builtin in bash,
    dash and busybox ash) or unset; a `sed "s/…/$token/"` or `echo $token | …` line fails here."""
    variable = TOKEN_SCRIPTS[script]
    expands = re.compile(r"\$\{?" + variable + r"\b")
    lines = [line.strip() for line in (DEPLOY / script).read_text(encoding="utf-8").splitlines()
             if expands.search(line) and not line.strip().startswith("#")]
    assert lines, f"{script} no longer reads ${variable}: update this test"
    allowed = re.compile(r"^(?:[A-Za-z_][A-Za-z_0-9]*=|printf |unset |\*.*\) *[A-Za-z_][A-Za-z_0-9]*=)")
    for line in lines:
        assert allowed.match(line) and "|" not in line.split("#")[0].replace("||", "").replace(
            '"|"', ""), f"{script}: the token may reach another program's argv: {line}"


def traced_execs(trace: Path) -> str:
    return trace.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("target", ["install.sh", *("entrypoint-" + s[0] for s in shells())])
def test_no_process_gets_the_token_in_its_argv_or_environment(tmp_path, target):
    """Dynamic: under strace, no execve of the script's whole run carries the token (argv or environment)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed; the static check above still ran")
    trace = tmp_path / "trace"
    wrapper = (strace, "-f", "-qq", "-v", "-s", "65536", "-e", "trace=execve", "-o", str(trace))
    if target == "install.sh":
        install_systemd(tmp_path / "root", *wrapper)
        assert TOKEN in (tmp_path / "root" / "etc" / "prometheus" / "alertmanager.yml").read_text()
    else:
        shell = next(s for s in shells() if s[0] == target.removeprefix("entrypoint-"))
        out = run_entrypoint(tmp_path, shell, *wrapper)
        assert TOKEN in (out / "alertmanager.yml").read_text()
    execs = traced_execs(trace)
    assert execs.count("execve(") >= 2, execs[:2000]  # the trace did see the script's commands
    assert TOKEN not in execs and "TEST&not" not in execs, "the token was in a command line or environment"


# --- hardening: compose ---------------------------------------------------------------------------

def megabytes(limit: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", str(limit).lower()).groups()
    return float(number) * {"": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}[unit]


@pytest.mark.parametrize("name", ["monitor", "prometheus", "alertmanager", "grafana"])
def test_compose_services_run_read_only_without_capabilities_and_with_a_memory_limit(name):
    service = compose()["services"][name]
    assert service.get("read_only") is True, f"{name}: root filesystem not read-only"
    assert service.get("cap_drop") == ["ALL"], f"{name}: capabilities not dropped"
    assert "no-new-privileges:true" in service.get("security_opt", []), f"{name}: no-new-privileges missing"
    assert 0 < megabytes(service["mem_limit"]) <= 2048, f"{name}: no memory limit"
    assert service.get("memswap_limit") == service["mem_limit"], f"{name}: the limit must include swap"
    assert not service.get("privileged") and not service.get("cap_add"), name


def test_compose_monitor_writes_only_to_its_volume_and_tmpfs():
    service = compose()["services"]["monitor"]
    named = {v.split(":")[1] for v in service["volumes"] if not v.startswith((".", "/"))}
    store = Path(service["environment"]["MONITOR_STORE"])
    assert str(store.parent) in named, f"the store {store} is not on a volume: the root filesystem is read-only"
    assert any(t.split(":")[0] == "/tmp" for t in service.get("tmpfs", [])), \
        "$TMPDIR must be writable (the traceback file of an unexpected error)"
    assert "PYTHONDONTWRITEBYTECODE=1" in (COMPOSE / "Dockerfile").read_text(), "Python would try to write .pyc"


# --- hardening: kubernetes ----------------------------------------------------------------------------

def network_policies(directory: Path) -> list[dict]:
    return [d for p in sorted(directory.rglob("*.yaml")) if "generated" not in p.parts
            for d in yaml.safe_load_all(p.read_text()) if d and d.get("kind") == "NetworkPolicy"]


def prober_pod_labels() -> dict[str, str]:
    """The labels every prober pod carries whatever its location: the template's and the base's."""
    deployment = load(K8S / "prober" / "deployment.yaml")
    labels = dict(deployment["spec"]["template"]["metadata"]["labels"])
    for entry in load(K8S / "prober" / "kustomization.yaml").get("labels", []):
        if entry.get("includeSelectors"):
            labels |= entry["pairs"]
    return labels


def metrics_port() -> dict:
    [container] = load(K8S / "prober" / "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    [port] = [p for p in container["ports"] if str(p["containerPort"]) == env["MONITOR_LISTEN_PORT"]]
    return port


def check_metrics_policy(policy: dict, pod_labels: dict[str, str]) -> None:
    spec = policy["spec"]
    selector = spec["podSelector"]["matchLabels"]
    assert selector and selector.items() <= pod_labels.items(), f"podSelector {selector} misses the prober pods"
    assert "Ingress" in spec["policyTypes"]
    [rule] = spec["ingress"]  # one rule: Prometheus to the metrics port; nothing else may come in
    assert rule["from"], "an empty `from` admits every pod"
    for peer in rule["from"]:
        assert set(peer) <= {"podSelector", "namespaceSelector"} and "ipBlock" not in peer
        assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}, peer
    port = metrics_port()
    assert [(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]] in (
        [("TCP", port["name"])], [("TCP", port["containerPort"])]), rule["ports"]


def test_kubernetes_network_policy_admits_only_prometheus_to_the_metrics_port():
    policies = network_policies(K8S)
    matching = [p for p in policies if p["spec"]["podSelector"]["matchLabels"].items() <= prober_pod_labels().items()]
    assert len(matching) == 1, f"expected one NetworkPolicy selecting the prober pods, found {len(matching)}"
    check_metrics_policy(matching[0], prober_pod_labels())


def test_kubernetes_probers_mount_no_service_account_token():
    pod = load(K8S / "prober" / "deployment.yaml")["spec"]["template"]["spec"]
    assert pod.get("automountServiceAccountToken") is False, "the prober pods get an API token"
    accounts = {d["metadata"]["name"]: d for p in (K8S / "prober").glob("*.yaml")
                for d in yaml.safe_load_all(p.read_text()) if d and d.get("kind") == "ServiceAccount"}
    assert pod.get("serviceAccountName") in accounts, "the pods must run as the prober's own service account"
    assert accounts[pod["serviceAccountName"]].get("automountServiceAccountToken") is False


def test_every_kubernetes_manifest_is_listed_in_its_kustomization():
    for kustomization in K8S.rglob("kustomization.yaml"):
        if "generated" in kustomization.parts:
            continue
        listed = {entry.rstrip("/") for entry in load(kustomization).get("resources", [])}
        for manifest in kustomization.parent.glob("*.yaml"):
            if manifest.name != "kustomization.yaml":
                assert manifest.name in listed, \
                    f"{manifest.relative_to(K8S)} is not in {kustomization.relative_to(K8S)}"


def test_kustomize_build_keeps_the_hardening(k8s_tree):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed; the static checks above still ran")
    documents = list(yaml.safe_load_all(run(kubectl, "kustomize", str(k8s_tree)).stdout))
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    accounts = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ServiceAccount"}
    [policy] = [d for d in documents if d["kind"] == "NetworkPolicy"]
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]
        # the built selectors: the locations' labels must not have leaked into the policy's `from`
        check_metrics_policy(policy, pod["metadata"]["labels"])
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert accounts[pod["spec"]["serviceAccountName"]]["automountServiceAccountToken"] is False


# --- the fleet (README "Fleet"): central Prometheus, VictoriaMetrics, probers with a store secret ----------

FLEET = DEPLOY / "fleet"
STORE_URL = "postgresql://monitor:S3cret-not&in.argv@central.example:5432/monitor"


def test_fleet_prometheus_config_passes_promtool_with_the_rules_and_every_prober_has_a_location(tmp_path):
    config = load(FLEET / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/monitor/*.yml"]
    [monitor] = [job for job in config["scrape_configs"] if job["job_name"] == "monitor"]
    [file_sd] = monitor["file_sd_configs"]
    targets = load(FLEET / "file_sd" / "probers.yml")
    locations = [group["labels"]["prober"] for group in targets]
    assert locations == sorted(set(locations), key=locations.index) and len(locations) >= 3, locations
    assert all("location" not in group["labels"] for group in targets), "a target label `location` clashes"
    # remote_write to VictoriaMetrics: scraped series only (vmalert records its own), never the rules' output
    [write] = config["remote_write"]
    [drop] = write["write_relabel_configs"]
    assert drop["action"] == "drop" and drop["source_labels"] == ["__name__"]
    for name, dropped in {"platform:probe_locations_failing:ratio": True, "ALERTS": True, "ALERTS_FOR_STATE": True,
                          "probe_success": False, "up": False, "monitor_store_pending_results": False}.items():
        assert bool(re.fullmatch(drop["regex"], name)) is dropped, name
    # promtool with the rules and the targets where this host has them
    config["rule_files"] = [f"{RULES}/*.yml"]
    (tmp_path / "probers").mkdir()
    shutil.copy(FLEET / "file_sd" / "probers.yml", tmp_path / "probers" / "probers.yml")
    file_sd["files"] = [str(tmp_path / "probers" / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = run(tool("promtool"), "check", "config", str(path)).stdout
    assert f"SUCCESS: {len(list(RULES.glob('*.yml')))} rule files found" in out, out


def test_vmalert_rules_are_alerts_rules_without_keep_firing_for(tmp_path):
    done = run(sys.executable, str(FLEET / "vmalert_rules.py"), "--out", str(tmp_path))
    assert "PlatformDown: keep_firing_for dropped" in done.stderr
    for path in sorted(RULES.glob("*.yml")):
        converted, original = load(tmp_path / path.name), load(path)
        for group in original["groups"]:
            for rule in group["rules"]:
                rule.pop("keep_firing_for", None)
        assert converted == original, path.name
    vmalert = shutil.which("vmalert")
    if vmalert is None:
        pytest.skip("vmalert is not installed (Debian: victoria-metrics); the conversion was checked")
    run(vmalert, "-dryRun", f"-rule={tmp_path}/*.yml", "-loggerLevel=ERROR")
    refused = subprocess.run([vmalert, "-dryRun", f"-rule={RULES}/*.yml", "-loggerLevel=ERROR"], capture_output=True,
                             text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "keep_firing_for" in refused.stdout + refused.stderr, \
        "vmalert now accepts keep_firing_for: vmalert_rules.py may keep it"


def test_local_start_with_victoria_metrics_writes_remote_write_and_checks_vmalert(tmp_path):
    if shutil.which("vmalert") is None:
        pytest.skip("vmalert is not installed (Debian: victoria-metrics)")
    done = run("bash", str(LOCAL / "start.sh"), "--dry-run", "--data-dir", str(tmp_path), "--victoria-metrics",
               "--vm-port", "18428", "--remote-write", "http://127.0.0.1:9201/write",
               "--listen-address", "10.213.0.1", "--target", "10.213.0.11:9180=hanoi",
               env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert f"vmalert-rules {tmp_path}/vmalert-rules" in done.stdout
    config = load(tmp_path / "prometheus.yml")
    other, victoria = config["remote_write"]
    assert other == {"url": "http://127.0.0.1:9201/write"}
    assert victoria["url"] == "http://127.0.0.1:18428/api/v1/write" and victoria["write_relabel_configs"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["10.213.0.1:9093"]
    assert sorted(p.name for p in (tmp_path / "vmalert-rules").glob("*.yml")) == sorted(p.name for p in
                                                                                        RULES.glob("*.yml"))
    refused = subprocess.run(["bash", str(LOCAL / "start.sh"), "--dry-run", "--listen-address", "0.0.0.0"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "one address" in refused.stderr


def systemd_unescape(value: str) -> str:
    return value.replace("$$", "$").replace("%%", "%")


def test_fleet_dropin_reads_the_store_url_from_a_credential_and_nowhere_else(tmp_path):
    dropin = FLEET / "systemd" / "fleet.conf"
    service = service_directives(dropin)
    assert service["ExecStart"][0] == "", "the drop-in must reset the unit's ExecStart="
    assert last(service, "LoadCredential") == "monitor-store:/etc/monitor/credentials/%i.store"
    spool = Path(environment_of(dropin)["MONITOR_SPOOL"])
    assert spool.parent == Path("/var/lib") / last(service_directives(SYSTEMD / "monitor@.service"),
                                                   "StateDirectory").replace("%i", "hanoi")
    for path in (dropin, SYSTEMD / "monitor@.service"):
        values = " ".join(v for values in service_directives(path).values() for v in values)
        assert "postgresql:" not in values, f"{path.name}: a store URL in the unit's directives"
    # systemd turns $$ into $ and runs the command line with argv[0] /bin/sh; run it with the real
    # credential layout, `monitor run` replaced by a program that reports what it got
    command = shlex.split(systemd_unescape(last(service, "ExecStart")))
    assert command[:2] == ["/bin/sh", "-c"] and len(command) == 3
    script = command[2].replace("/opt/monitor/.venv/bin/monitor run",
                                f"{sys.executable} -c 'import os, sys; print(os.environ[\"MONITOR_STORE\"]); "
                                f"print(sys.argv)'")
    assert script != command[2], "the drop-in no longer execs /opt/monitor/.venv/bin/monitor run"
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for ending in ("\n", ""):  # written by an editor, or by printf without a newline
        (credentials / "monitor-store").write_text(STORE_URL + ending, encoding="utf-8")
        wrapper: tuple[str, ...] = ()
        trace = tmp_path / "trace"
        if shutil.which("strace"):
            wrapper = (shutil.which("strace"), "-f", "-qq", "-s", "65536", "-e", "trace=execve", "-o", str(trace))
        done = run(*wrapper, "/bin/sh", "-c", script,
                   env={"PATH": "/usr/bin:/bin", "CREDENTIALS_DIRECTORY": str(credentials)})
        store, argv = done.stdout.splitlines()
        assert store == STORE_URL and STORE_URL not in argv
        if wrapper:  # no program was started with the URL in its argv (the environment carries it)
            assert STORE_URL not in traced_execs(trace)


def test_fleet_kubernetes_probers_take_the_store_url_from_a_secret(k8s_tree):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    overlay = k8s_tree.parent / "fleet" / "kubernetes"
    shutil.copytree(FLEET / "kubernetes", overlay)
    output = run(kubectl, "kustomize", str(overlay)).stdout
    assert "postgresql://" not in output
    deployments = [d for d in yaml.safe_load_all(output) if d["kind"] == "Deployment"]
    assert sorted(d["metadata"]["labels"]["prober"] for d in deployments) == \
        sorted(p.name for p in (K8S / "locations").iterdir())
    for deployment in deployments:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["MONITOR_STORE"] == {"name": "MONITOR_STORE",
                                        "valueFrom": {"secretKeyRef": {"name": "monitor-store", "key": "url"}}}
        assert env["MONITOR_LOCATION"]["value"] == deployment["metadata"]["labels"]["prober"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert Path(env["MONITOR_SPOOL"]["value"]).parent == Path("/var/lib/monitor")
        assert mounts["/var/lib/monitor"] == "data", "the spool must survive a restart: on the PVC"


def test_fleet_compose_override_reads_the_store_url_from_a_secret(tmp_path):
    override = load(COMPOSE / "docker-compose.fleet.yml")
    text = (COMPOSE / "docker-compose.fleet.yml").read_text(encoding="utf-8")
    assert "postgresql://" not in text.split("services:")[1], "a store URL in the compose file"
    monitor = override["services"]["monitor"]
    assert monitor["secrets"] == ["monitor_store"]
    assert override["secrets"]["monitor_store"]["file"] == "./secrets/monitor_store"
    assert "monitor_store" in (COMPOSE / "secrets" / "README.md").read_text(encoding="utf-8")
    assert all(p.startswith("${MONITOR_METRICS_ADDRESS:-127.0.0.1}:") for p in monitor["ports"])
    # compose turns $$ into $, runs entrypoint + command; the secret is mounted at /run/secrets/<name>
    assert monitor["entrypoint"] == ["/bin/sh", "-c"]
    secret = tmp_path / "monitor_store"
    secret.write_text(STORE_URL, encoding="utf-8")
    script = monitor["command"][0].replace("$$", "$").replace("/run/secrets/monitor_store", str(secret)) \
        .replace("exec monitor run", "exec printenv MONITOR_STORE")
    assert run("/bin/sh", "-c", script, env={"PATH": "/usr/bin:/bin"}).stdout.strip() == STORE_URL


@pytest.mark.slow
def test_fleet_start_runs_postgresql_with_a_password_login_and_prometheus(tmp_path):
    """deploy/fleet/start.sh for real: PostgreSQL with role `monitor` (password in a 0600 file, in no
    process's argv), Prometheus and Alertmanager ready; SIGTERM stops all of them."""
    import psycopg

    from tests.e2e import Proc, free_port

    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and shutil.which("initdb") is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    pg_port = free_port()
    central = Proc("fleet/start.sh", ["bash", str(FLEET / "start.sh"), "--data-dir", str(tmp_path / "central"),
                                      "--pg-port", str(pg_port), "--prometheus-port", str(free_port()),
                                      "--alertmanager-port", str(free_port()), "--target", "127.0.0.1:9=local"],
                   env={"PYTHON": sys.executable})
    try:
        url_file = Path(central.wait_for(r"^store-url-file (\S+)", timeout=120).group(1))
        prometheus = central.wait_for(r"^prometheus (http://\S+)", timeout=60).group(1)
        central.wait_for(r"^ready", timeout=90)
        assert url_file.stat().st_mode & 0o777 == 0o600
        url = url_file.read_text(encoding="utf-8").strip()
        password = re.fullmatch(rf"postgresql://monitor:([A-Za-z0-9]{{32}})@127\.0\.0\.1:{pg_port}/monitor", url)
        assert password, url
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT current_user, current_database()").fetchone() == ("monitor", "monitor")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url.replace(password.group(1), "wrong"), connect_timeout=5).close()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                assert password.group(1).encode() not in cmdline.read_bytes(), f"the password in {cmdline}"
            except OSError:
                pass
        with urllib.request.urlopen(f"{prometheus}/-/ready", timeout=10) as response:
            assert response.status == 200
    finally:
        central.stop(grace=30)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3).close()
