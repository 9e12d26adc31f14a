"""Configuration: strict check files with exact messages, secrets, settings, and the real ``checks/dcs.yml``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from monitor.config import Check, HttpCheck, Settings, load_catalog
from monitor.config.model import Duration, format_duration, parse_duration, parse_status
from monitor.config.settings import SETTINGS_FILE_ENV
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
UNSET_SECRET_ENV = "MONITOR_TEST_UNSET_PASSWORD"  # named by invalid-secret-env.yml

# One fixture per rule -> every problem it must produce, exactly, in order.
INVALID: dict[str, list[str]] = {
    "top-level-key": [
        "tests/fixtures/invalid-top-level-key.yml:2: version: unknown key",
    ],
    "platform-key": [
        "tests/fixtures/invalid-platform-key.yml:5: platform 'gqthc': domain: unknown key (did you mean 'domains'?)",
    ],
    "check-key": [
        "tests/fixtures/invalid-check-key.yml:9: platform 'gqthc', check 'home': "
        "timout: unknown key (did you mean 'timeout'?)",
    ],
    "url": [
        "tests/fixtures/invalid-url.yml:6: platform 'gqthc', check 'home': "
        "url: invalid URL 'htp://gqthc.dcs.vn/': URL scheme should be 'http' or 'https'",
        "tests/fixtures/invalid-url.yml:7: platform 'gqthc', check 'login': url: invalid URL 'https://': empty host",
        "tests/fixtures/invalid-url.yml:8: platform 'gqthc', check 'search': "
        "url: invalid URL 'gqthc.dcs.vn/tra-cuu': relative URL without a base (start it with https://)",
    ],
    "header": [
        "tests/fixtures/invalid-header.yml:8: platform 'gqthc', check 'home': headers: invalid header name 'X-Đơn-vị'",
    ],
    "header-value": [
        "tests/fixtures/invalid-header-value.yml:8: platform 'gqthc', check 'home': "
        "headers: header 'X-Don-Vi': value must be ASCII on one line (HTTP sends bytes)",
    ],
    "dns-name": [
        "tests/fixtures/invalid-dns-name.yml:5: platform 'dichvucong', check 'dns': "
        "name: invalid DNS name 'dichvucong..dcs.vn': A DNS label is empty.",
    ],
    "url-credentials": [
        "tests/fixtures/invalid-url-credentials.yml:6: platform 'quantri-gqthc', check 'home': "
        "url: credentials in the URL are not allowed (use auth.basic with a password from env or file)",
    ],
    "timeout": [
        "tests/fixtures/invalid-timeout.yml:10: platform 'gqthc', check 'home': "
        "timeout: must be shorter than interval (30s >= 30s)",
        # No timeout written: the 10s default is checked against the interval too.
        "tests/fixtures/invalid-timeout.yml:11: platform 'gqthc', check 'cert': "
        "timeout: must be shorter than interval (10s >= 5s)",
    ],
    "duplicate-platform-id": [
        "tests/fixtures/invalid-duplicate-platform-id.yml:5: platform 'gqthc': "
        "id: duplicate platform id (first defined at tests/fixtures/invalid-duplicate-platform-id.yml:3)",
    ],
    "duplicate-check-id": [
        "tests/fixtures/invalid-duplicate-check-id.yml:7: platform 'dichvucong', check 'home': "
        "id: duplicate check id (first defined at line 6)",
    ],
    "duplicate-key": [
        "tests/fixtures/invalid-duplicate-key.yml:8: platform 'sotaydangvien': "
        "checks: duplicate key (first defined at line 5)",
    ],
    "check-kind": [
        "tests/fixtures/invalid-check-kind.yml:6: platform 'pakn', check 'home': "
        "kind: unknown check kind 'https' (expected one of: dns, http, tcp, tls)",
        "tests/fixtures/invalid-check-kind.yml:7: platform 'pakn', check 'ping': "
        "kind: required field is missing (one of: dns, http, tcp, tls)",
    ],
    "missing-field": [
        "tests/fixtures/invalid-missing-field.yml:3: platform 'sotaydangvien': name: required field is missing",
        "tests/fixtures/invalid-missing-field.yml:5: platform 'sotaydangvien', check 'home': "
        "url: required field is missing",
        "tests/fixtures/invalid-missing-field.yml:6: platform #2: id: required field is missing",
    ],
    "duration": [
        "tests/fixtures/invalid-duration.yml:6: platform 'gqthc', check 'home': "
        "interval: invalid duration '1min' (use e.g. 500ms, 30s, 1m)",
        "tests/fixtures/invalid-duration.yml:7: platform 'gqthc', check 'cert': timeout: must be greater than 0",
        "tests/fixtures/invalid-duration.yml:8: platform 'gqthc', check 'dns': "
        "interval: invalid duration: found true/false (use e.g. 500ms, 30s, 1m)",
    ],
    "status": [
        "tests/fixtures/invalid-status.yml:9: platform 'gqthc', check 'home': "
        "expect_status[2]: invalid status '6xx' (use 200, '2xx' or '200-399')",
        "tests/fixtures/invalid-status.yml:9: platform 'gqthc', check 'home': "
        "expect_status[3]: invalid status range '399-200' (the lower code comes first)",
        "tests/fixtures/invalid-status.yml:9: platform 'gqthc', check 'home': "
        "expect_status[4]: invalid status 42 (HTTP status codes run from 100 to 599)",
    ],
    "regex": [
        "tests/fixtures/invalid-regex.yml:9: platform 'dichvucong', check 'home': "
        "body_matches[1]: invalid regular expression 'Đăng nhập (': "
        "missing ), unterminated subpattern at position 10",
    ],
    "resolve": [
        "tests/fixtures/invalid-resolve.yml:9: platform 'gqthc', check 'home': "
        "resolve[gqthc.dcs.vn]: invalid address 'backend-1:443': 'backend-1' is not an IP address",
        "tests/fixtures/invalid-resolve.yml:10: platform 'gqthc', check 'port': "
        "address: invalid address '10.0.0.1:70000': port out of range",
    ],
    "id": [
        "tests/fixtures/invalid-id.yml:3: platform 'Dịch vụ công': id: invalid id 'Dịch vụ công' "
        "(use lowercase letters, digits, '-' and '_', starting with a letter or digit)",
        "tests/fixtures/invalid-id.yml:6: platform 'Dịch vụ công', check 'Home': id: invalid id 'Home' "
        "(use lowercase letters, digits, '-' and '_', starting with a letter or digit)",
    ],
    "yaml": [
        "tests/fixtures/invalid-yaml.yml:7: invalid YAML: expected ',' or '}', but got '-' "
        "(while parsing a flow mapping at line 6)",
    ],
    "yaml-tab": [
        "tests/fixtures/invalid-yaml-tab.yml:4: invalid YAML: found character '\\t' that cannot start any token "
        "(while scanning for the next token); indent with spaces, not tabs",
    ],
    "secret-env": [
        "tests/fixtures/invalid-secret-env.yml:12: platform 'quantri-gqthc', check 'login': "
        "auth.basic.password: environment variable MONITOR_TEST_UNSET_PASSWORD is not set",
    ],
    "secret-file": [
        "tests/fixtures/invalid-secret-file.yml:9: platform 'quantri-gqthc', check 'api': "
        "auth.bearer: cannot read secret file tests/fixtures/no-such-token: No such file or directory",
    ],
    "secret-source": [
        "tests/fixtures/invalid-secret-source.yml:6: platform 'quantri-gqthc', check 'login': "
        "auth.bearer: give exactly one of 'env' or 'file'",
        "tests/fixtures/invalid-secret-source.yml:7: platform 'quantri-gqthc', check 'api': "
        "auth: give exactly one of 'basic' or 'bearer'",
    ],
    "not-a-list": [
        "tests/fixtures/invalid-not-a-list.yml:5: platform 'pakn': aliases: expected a list, found text",
        "tests/fixtures/invalid-not-a-list.yml:6: platform 'pakn': checks: expected a list, found a mapping",
    ],
    "wrong-type": [
        "tests/fixtures/invalid-wrong-type.yml:6: platform 'gqthc', check 'home': "
        "method: expected 'GET', 'HEAD', 'POST', 'PUT' or 'OPTIONS', found 'get'",
        "tests/fixtures/invalid-wrong-type.yml:6: platform 'gqthc', check 'home': "
        "follow_redirects: expected true or false, found 'maybe'",
        "tests/fixtures/invalid-wrong-type.yml:7: platform 'gqthc', check 'cert': "
        "port: expected a whole number, found text",
    ],
    "empty": [
        "tests/fixtures/invalid-empty.yml: expected a top-level key 'platforms' with a list of platforms; "
        "the file is empty",
    ],
    "alias-expansion": [
        "tests/fixtures/invalid-alias-expansion.yml:7: aliases expand to more than 100,000 values (each '*name' "
        "repeats what '&name' marks, and aliases inside aliases multiply); write the repeated part out or nest "
        "fewer aliases",
    ],
    "alias-loop": [
        "tests/fixtures/invalid-alias-loop.yml:6: alias '*gqthc' is used inside the value it names, "
        "which would repeat itself forever; write that part out",
    ],
    "long-value": [
        "tests/fixtures/invalid-long-value.yml:10: platform 'pakn', check 'gui': "
        "body: a value of 17,999 characters is longer than the 16,384 allowed; shorten it",
    ],
    "probe-options": [
        "tests/fixtures/invalid-probe-options.yml:9: platform 'dichvucong', check 'api': "
        "ip_protocol: expected 'ip4' or 'ip6', found 'ipv6'",
        "tests/fixtures/invalid-probe-options.yml:10: platform 'dichvucong', check 'api': "
        "fail_if_header_matches[0].regexp: required field is missing",
        "tests/fixtures/invalid-probe-options.yml:10: platform 'dichvucong', check 'api': "
        "fail_if_header_matches[0].regex: unknown key (did you mean 'regexp'?)",
        "tests/fixtures/invalid-probe-options.yml:11: platform 'dichvucong', check 'api': "
        "fail_if_header_not_matches[0].header: invalid header name 'X Frame'",
        "tests/fixtures/invalid-probe-options.yml:13: platform 'dichvucong', check 'api': "
        "body_json[0].path: invalid JSON path '$..status' at character 2 (use e.g. $.status or data.items[0].state)",
        "tests/fixtures/invalid-probe-options.yml:14: platform 'dichvucong', check 'api': "
        "body_json[1]: give exactly one of 'equals', 'lt', 'le', 'gt', 'ge' or 'exists'",
        "tests/fixtures/invalid-probe-options.yml:15: platform 'dichvucong', check 'api': "
        "body_json[2].lt: expected a number, found '10'",
    ],
    "regex-nested": [
        "tests/fixtures/invalid-regex-nested.yml:9: platform 'dichvucong', check 'home': "
        "body_not_matches[0]: invalid regular expression: groups nested too deeply",
    ],
    # Every problem in one file at once, in line order.
    "several": [
        "tests/fixtures/invalid-several.yml:2: platform: unknown key (did you mean 'platforms'?)",
        "tests/fixtures/invalid-several.yml:8: platform 'gqthc', check 'home': "
        "timeout: must be shorter than interval (10s >= 10s)",
        "tests/fixtures/invalid-several.yml:8: platform 'gqthc', check 'home': "
        "url: invalid URL 'htp://gqthc.dcs.vn/': URL scheme should be 'http' or 'https'",
        "tests/fixtures/invalid-several.yml:9: platform 'gqthc', check 'home': "
        "id: duplicate check id (first defined at line 8)",
        "tests/fixtures/invalid-several.yml:9: platform 'gqthc', check 'home': colour: unknown key",
        "tests/fixtures/invalid-several.yml:10: platform 'gqthc': "
        "id: duplicate platform id (first defined at tests/fixtures/invalid-several.yml:5)",
        "tests/fixtures/invalid-several.yml:11: platform 'gqthc': name: must not be empty",
        "tests/fixtures/invalid-several.yml:13: platform 'gqthc', check 'dns': "
        "record_type: expected 'A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT' or 'SOA', found 'AAAAA'",
        "tests/fixtures/invalid-several.yml:13: platform 'gqthc', check 'dns': "
        "server: invalid address 'dns.local': 'dns.local' is not an IP address",
    ],
}


@pytest.fixture
def at_root(monkeypatch):
    """Run from the repository root, so fixture paths (and messages) are relative, as an operator sees them."""
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv(UNSET_SECRET_ENV, raising=False)


def problems_of(*paths: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_catalog(list(paths))
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("rule", INVALID)
def test_invalid_fixture_reports_exact_messages(at_root, rule):
    assert problems_of(Path(f"tests/fixtures/invalid-{rule}.yml")) == INVALID[rule]


def test_every_invalid_fixture_has_expected_messages():
    on_disk = {path.name.removeprefix("invalid-").removesuffix(".yml") for path in FIXTURES.glob("invalid-*.yml")}
    assert on_disk == set(INVALID)


def test_problems_in_several_files_are_reported_together(at_root):
    files = [Path("tests/fixtures/invalid-url.yml"), Path("tests/fixtures/invalid-check-kind.yml")]
    assert problems_of(*files) == INVALID["url"] + INVALID["check-kind"]


def test_duplicate_platform_across_files_names_both_places(tmp_path):
    first = tmp_path / "a.yml"
    second = tmp_path / "b.yml"
    first.write_text("platforms:\n  - id: gqthc\n    name: Hệ thống giải quyết TTHC của Đảng\n")
    second.write_text("# added later\nplatforms:\n  - id: pakn\n    name: PAKN\n  - id: gqthc\n    name: GQTTHC\n")
    assert problems_of(tmp_path) == [
        f"{second}:5: platform 'gqthc': id: duplicate platform id (first defined at {first}:2)",
    ]


def test_check_ids_may_repeat_across_platforms(tmp_path):
    file = tmp_path / "checks.yml"
    file.write_text(
        "platforms:\n"
        "  - {id: a, name: A, checks: [{id: home, kind: tcp, host: a.example, port: 443}]}\n"
        "  - {id: b, name: B, checks: [{id: home, kind: tcp, host: b.example, port: 443}]}\n"
    )
    assert [(p.id, c.id) for p, c in load_catalog([file]).checks()] == [("a", "home"), ("b", "home")]


def test_missing_path_and_empty_directory(tmp_path):
    assert problems_of(tmp_path / "nope.yml") == [
        f"{tmp_path / 'nope.yml'}: checks not found; name check files or directories with --checks PATH or "
        "MONITOR_CHECKS='[\"PATH\"]'"]
    assert problems_of(tmp_path) == [f"{tmp_path}: no check files found (*.yml or *.yaml)"]


def test_aliases_within_the_budget_still_work(tmp_path):
    """Shared defaults through an anchor and a merge key are what aliases are for."""
    file = tmp_path / "checks.yml"
    file.write_text(
        "x-defaults: &fast {interval: 1m, timeout: 5s}\n"
        "platforms:\n"
        "  - id: gqthc\n"
        "    name: GQTTHC\n"
        "    checks:\n"
        + "".join(f"      - {{<<: *fast, id: c{i}, kind: tcp, host: gqthc.dcs.vn, port: 443}}\n" for i in range(200))
    )
    with pytest.raises(ConfigError) as info:  # only the unknown top-level key: every check loaded
        load_catalog([file])
    assert [str(p) for p in info.value.problems] == [f"{file}:1: x-defaults: unknown key"]


def test_a_ten_megabyte_value_is_refused_in_one_short_line(tmp_path):
    file = tmp_path / "checks.yml"
    file.write_text("platforms:\n  - id: gqthc\n    name: GQTTHC\n    domains: ['" + "x" * 10_000_000 + "']\n"
                    "    aliases: &many ['" + "y" * 20_000 + "']\n    checks: []\n    x: [*many, *many]\n")
    assert problems_of(file) == [
        f"{file}:4: platform 'gqthc': domains[0]: a value of 10,000,000 characters is longer than the 16,384 "
        "allowed; shorten it",
        f"{file}:5: platform 'gqthc': aliases[0]: a value of 20,000 characters is longer than the 16,384 "
        "allowed; shorten it",  # once, though the aliases repeat it
    ]


# --- secrets -----------------------------------------------------------------------------------

SECRET = "s3cr3t-Đảng-token"


def _auth_file(tmp_path: Path, checks: str, **names: object) -> Path:
    """A one-platform check file; ``$NAME`` in ``checks`` is replaced by ``names[NAME]``."""
    for name, value in names.items():
        checks = checks.replace(f"${name}", str(value))
    file = tmp_path / "checks.yml"
    file.write_text("platforms:\n  - id: quantri-gqthc\n    name: Trang quản trị\n    checks:\n" + checks)
    return file


def test_secrets_are_read_at_load_and_never_shown(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text(SECRET + "\n")
    monkeypatch.setenv("MONITOR_TEST_PASSWORD", SECRET)
    file = _auth_file(tmp_path, (
        "      - {id: api, kind: http, url: 'https://quantri-gqthc.dcs.vn/api', auth: {bearer: {file: $token}}}\n"
        "      - id: login\n"
        "        kind: http\n"
        "        url: https://quantri-gqthc.dcs.vn/\n"
        "        auth: {basic: {username: monitor, password: {env: MONITOR_TEST_PASSWORD}}}\n"
    ), token=token)
    catalog = load_catalog([file])
    (_, api), (_, login) = catalog.checks()
    assert isinstance(api, HttpCheck) and isinstance(login, HttpCheck)
    assert api.auth.bearer.reveal().get_secret_value() == SECRET
    assert login.auth.basic.password.reveal().get_secret_value() == SECRET
    for shown in (repr(api), str(api), repr(login), repr(catalog), repr(api.auth.bearer.reveal())):
        assert SECRET not in shown


def test_secret_problems_do_not_show_secrets(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text(SECRET)
    binary = tmp_path / "binary-token"
    binary.write_bytes(b"\xff\xfe" + SECRET.encode())
    monkeypatch.delenv(UNSET_SECRET_ENV, raising=False)
    monkeypatch.setenv("MONITOR_TEST_EMPTY", "")
    # A valid check's secret sits next to problems of every kind; none of the messages may show it.
    file = _auth_file(tmp_path, (
        "      - {id: ok, kind: http, url: 'https://a.example/', auth: {bearer: {file: $token}}}\n"
        "      - {id: bad, kind: http, url: 'https://a.example/', timeout: 1m, auth: {bearer: {file: $token}}}\n"
        "      - {id: unset, kind: http, url: 'https://a.example/', auth: {bearer: {env: $unset}}}\n"
        "      - {id: empty, kind: http, url: 'https://a.example/', auth: {bearer: {env: MONITOR_TEST_EMPTY}}}\n"
        "      - {id: binary, kind: http, url: 'https://a.example/', auth: {bearer: {file: $binary}}}\n"
        "      - {id: inline, kind: http, url: 'https://monitor:hunter2@a.example/'}\n"
    ), token=token, unset=UNSET_SECRET_ENV, binary=binary)
    with pytest.raises(ConfigError) as info:
        load_catalog([file])
    where = f"{file}:{{}}: platform 'quantri-gqthc', check"
    assert [str(p) for p in info.value.problems] == [
        f"{where.format(6)} 'bad': timeout: must be shorter than interval (60s >= 30s)",
        f"{where.format(7)} 'unset': auth.bearer: environment variable {UNSET_SECRET_ENV} is not set",
        f"{where.format(8)} 'empty': auth.bearer: environment variable MONITOR_TEST_EMPTY is empty",
        f"{where.format(9)} 'binary': auth.bearer: secret file {binary} is not UTF-8 text",
        f"{where.format(10)} 'inline': url: credentials in the URL are not allowed "
        "(use auth.basic with a password from env or file)",
    ]
    text = str(info.value) + repr(info.value.problems)
    for secret in (SECRET, "hunter2", "xff", "0xff"):
        assert secret not in text


def test_header_values_from_secrets_are_read_at_load(tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_TEST_API_KEY", SECRET.encode("ascii", "ignore").decode())
    monkeypatch.setenv("MONITOR_TEST_NOT_ASCII", SECRET)
    monkeypatch.delenv(UNSET_SECRET_ENV, raising=False)
    file = _auth_file(tmp_path, (
        "      - id: api\n"
        "        kind: http\n"
        "        url: https://quantri-gqthc.dcs.vn/api\n"
        "        headers:\n"
        "          Accept-Language: vi\n"
        "          X-Api-Key: {env: MONITOR_TEST_API_KEY}\n"
        "      - id: bad\n"
        "        kind: http\n"
        "        url: https://quantri-gqthc.dcs.vn/api\n"
        "        headers:\n"
        "          X-Api-Key: {env: $unset}\n"
        "          X-Token: {env: MONITOR_TEST_NOT_ASCII}\n"
        "          X-Other: {fil: /etc/token}\n"
    ), unset=UNSET_SECRET_ENV)
    with pytest.raises(ConfigError) as info:
        load_catalog([file])
    where = f"{file}:{{}}: platform 'quantri-gqthc', check 'bad': headers"
    assert [str(p) for p in info.value.problems] == [
        f"{where.format(17)}[X-Other].fil: unknown key (did you mean 'file'?)",
    ]
    file.write_text(file.read_text().replace("          X-Other: {fil: /etc/token}\n", ""))
    with pytest.raises(ConfigError) as info:
        load_catalog([file])
    assert [str(p) for p in info.value.problems] == [
        f"{where.format(15)}[X-Api-Key]: environment variable {UNSET_SECRET_ENV} is not set",
        f"{where.format(16)}[X-Token]: environment variable MONITOR_TEST_NOT_ASCII: "
        "value must be ASCII on one line (HTTP sends bytes)",
    ]
    assert SECRET not in str(info.value)


# --- settings ----------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No MONITOR_* variables and no monitor.yml: what a fresh shell in an empty directory sees."""
    import os

    for name in [n for n in os.environ if n.startswith("MONITOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_settings_defaults(clean_env):
    from monitor.config.settings import packaged_checks

    settings = Settings()
    assert settings.listen_address == "127.0.0.1"  # loopback unless someone means otherwise
    assert settings.listen_port == 9180
    assert settings.checks == [packaged_checks()]  # no ./checks here: the copy shipped in the package
    assert settings.location == "local"
    assert settings.log_level == "INFO"


def test_settings_from_environment(clean_env):
    clean_env.setenv("MONITOR_LISTEN_PORT", "9999")
    clean_env.setenv("MONITOR_LOCATION", "hanoi-vnpt")
    clean_env.setenv("MONITOR_CHECKS", '["checks", "/etc/monitor/extra.yml"]')
    settings = Settings()
    assert (settings.listen_port, settings.location) == (9999, "hanoi-vnpt")
    assert settings.checks == [Path("checks"), Path("/etc/monitor/extra.yml")]


def test_settings_nested_values_use_double_underscore(clean_env):
    class Grafana(BaseModel):
        url: str = ""
        token: SecretStr | None = None

    class WithGrafana(Settings):  # same model_config and sources as Settings
        grafana: Grafana = Grafana()

    clean_env.setenv("MONITOR_GRAFANA__URL", "http://127.0.0.1:3000")
    clean_env.setenv("MONITOR_GRAFANA__TOKEN", SECRET)
    settings = WithGrafana()
    assert settings.grafana.url == "http://127.0.0.1:3000"
    assert settings.grafana.token.get_secret_value() == SECRET
    assert SECRET not in repr(settings)


def test_settings_file_named_by_environment_and_env_wins(clean_env, tmp_path):
    file = tmp_path / "prober.yml"
    file.write_text("listen_port: 9200\nlocation: hanoi\nchecks: [checks, extra]\n")
    clean_env.setenv(SETTINGS_FILE_ENV, str(file))
    settings = Settings()
    assert (settings.listen_port, settings.location) == (9200, "hanoi")
    assert settings.checks == [Path("checks"), Path("extra")]
    clean_env.setenv("MONITOR_LOCATION", "hcm")
    settings = Settings()
    assert (settings.listen_port, settings.location) == (9200, "hcm")


def test_settings_default_file_is_monitor_yml_in_working_directory(clean_env, tmp_path):
    (tmp_path / "monitor.yml").write_text("location: danang\n")
    assert Settings().location == "danang"


def test_settings_file_unknown_key_is_an_error(clean_env, tmp_path):
    file = tmp_path / "prober.yml"
    file.write_text("listen_port: 9200\nlisten_adress: 0.0.0.0\n")
    clean_env.setenv(SETTINGS_FILE_ENV, str(file))
    with pytest.raises(ValidationError) as info:
        Settings()
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("listen_adress",), "extra_forbidden")]


def test_settings_file_named_but_missing_is_an_error(clean_env, tmp_path):
    clean_env.setenv(SETTINGS_FILE_ENV, str(tmp_path / "nope.yml"))
    with pytest.raises(ConfigError) as info:
        Settings()
    assert str(info.value) == f"{tmp_path / 'nope.yml'}: settings file not found (named by MONITOR_SETTINGS_FILE)"


def test_settings_invalid_environment_value(clean_env):
    clean_env.setenv("MONITOR_LISTEN_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()


# --- the real catalog --------------------------------------------------------------------------

MONITORED = {
    "gqthc": "gqthc.dcs.vn",
    "quantri-gqthc": "quantri-gqthc.dcs.vn",
    "dichvucong": "dichvucong.dcs.vn",
    "sotaydangvien": "sotaydangvien.dcs.vn",
    "pakn": "pakn.dcs.vn",
}


def test_dcs_catalog_loads():
    catalog = load_catalog([ROOT / "checks" / "dcs.yml"])
    assert [p.id for p in catalog.platforms] == [*MONITORED, "hdh-tacnghiep"]
    for platform_id, host in MONITORED.items():
        platform = catalog.platform(platform_id)
        assert platform is not None and platform.monitored
        assert host in platform.domains
        urls = [check.url for check in platform.checks if isinstance(check, HttpCheck)]
        assert urls, platform_id
        assert all(url.scheme == "https" and url.host == host for url in urls)
    unmonitored = catalog.platform("hdh-tacnghiep")
    assert unmonitored is not None
    assert unmonitored.name == "Hệ điều hành tác nghiệp"
    assert unmonitored.checks == [] and not unmonitored.monitored
    for platform in catalog.platforms:
        assert any(ord(char) > 127 for char in platform.name), platform.id  # Vietnamese, with diacritics
        assert platform.aliases, platform.id


# --- parsing tables ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("500ms", 0.5), ("1m", 60.0), ("2h", 7200.0), ("1.5m", 90.0),
    (" 10 s ", 10.0), ("45", 45.0), (45, 45), (0.25, 0.25),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds
    assert TypeAdapter(Duration).validate_python(text) == seconds


@pytest.mark.parametrize("text", ["30x", "1min", "-5s", "", "s", "1,5s", "30S", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", ["0s", 0, -1, float("inf"), float("nan")])
def test_duration_must_be_positive_and_finite(value):
    with pytest.raises(ValidationError):
        TypeAdapter(Duration).validate_python(value)


@pytest.mark.parametrize(("seconds", "text"), [(30.0, "30s"), (0.5, "500ms"), (0.05, "50ms"), (90.0, "90s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("value", "expected"), [
    (200, (200, 200)), ("404", (404, 404)), ("2xx", (200, 299)), ("5XX", (500, 599)),
    ("200-399", (200, 399)), ("200 - 204", (200, 204)), ("100-599", (100, 599)),
])
def test_parse_status(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize("value", [
    "6xx", "0xx", "99", 99, 600, "200-600", "399-200", "abc", "2xx-3xx", True, None, 200.0, "",
])
def test_parse_status_rejects(value):
    with pytest.raises(ValueError, match="invalid status"):
        parse_status(value)


@pytest.mark.parametrize(("value", "ok"), [
    ("gqthc", True), ("quantri-gqthc", True), ("so_tay2", True), ("9x", True),
    ("GQTHC", False), ("-gqthc", False), ("gqthc\n", False), ("dịch-vụ", False), ("", False), ("a" * 65, False),
])
def test_slug_ids(value, ok):
    data = {"id": value, "kind": "tcp", "host": "gqthc.dcs.vn", "port": 443}
    if ok:
        assert TypeAdapter(Check).validate_python(data).id == value
    else:
        with pytest.raises(ValidationError):
            TypeAdapter(Check).validate_python(data)


def test_expect_status_default_and_parsed_on_the_model():
    check = HttpCheck.model_validate({"id": "home", "kind": "http", "url": "https://gqthc.dcs.vn/"})
    assert check.expect_status == [(200, 399)]
    check = HttpCheck.model_validate({"id": "home", "kind": "http", "url": "https://gqthc.dcs.vn/",
                                      "expect_status": [200, "3xx", "401-403"]})
    assert check.expect_status == [(200, 200), (300, 399), (401, 403)]
