"""The trusted-clients file: what a valid one gives, and clear start-up errors for bad ones."""

from __future__ import annotations

import json

import pytest

from cds_service.auth import TrustedClientsError, build_authenticator
from cds_service.auth.clients import load_registry, normalise_base_url
from cds_service.config import Settings
from tests.support.jwt_clients import Signer, jwks, write_clients


@pytest.fixture
def settings():
    return Settings.from_env({})


def test_all_three_key_sources_and_optional_fields_load(tmp_path, settings):
    es, rs = Signer("ES384"), Signer("RS384")
    (tmp_path / "keys.json").write_text(json.dumps(jwks(rs)))
    path = write_clients(
        tmp_path,
        [
            {
                "iss": "https://a.example",
                "jku": "https://a.example/.well-known/jwks.json",
                "fhir_servers": ["https://FHIR.a.example:443/r4/"],
                "tenant": "t-1",
                "name": "Site A",
            },
            {"iss": "https://b.example", "jwks": jwks(es)},
            {"iss": "https://c.example", "jwks_file": "keys.json"},
        ],
    )
    registry = load_registry(path, settings)
    a, b, c = (registry.get(i) for i in ("https://a.example", "https://b.example", "https://c.example"))
    assert a.tenant == "t-1" and a.jku == "https://a.example/.well-known/jwks.json"
    assert a.allows_fhir_server("https://fhir.a.example/r4")
    assert a.allows_fhir_server("HTTPS://fhir.a.example/r4/")
    assert not a.allows_fhir_server("https://fhir.a.example/r4/Patient")
    assert not a.allows_fhir_server("https://fhir.a.example.evil.net/r4")
    assert not a.allows_fhir_server("http://fhir.a.example/r4")
    assert not b.allows_fhir_server("https://fhir.a.example/r4")  # none listed: none allowed
    assert b.keys.find(es.kid) is not None and c.keys.find(rs.kid) is not None
    assert registry.get(None) is None and registry.get(["x"]) is None


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://Example.org:443/fhir/", "https://example.org/fhir"),
        ("http://127.0.0.1:8080/fhir", "http://127.0.0.1:8080/fhir"),
        ("https://example.org", "https://example.org"),
        ("https://[::1]:8443/r4", "https://[::1]:8443/r4"),
        ("https://user:pw@example.org/fhir", None),
        ("https://example.org/fhir?x=1", None),
        ("ftp://example.org/fhir", None),
        ("/fhir", None),
        ("https://example.org:99999/", None),
    ],
)
def test_base_urls_are_normalised_before_comparison(url, expected):
    assert normalise_base_url(url) == expected


@pytest.mark.parametrize(
    "entries,message",
    [
        ({"iss": "x"}, "must hold a JSON array"),
        ([{"jku": "https://a.example/jwks"}], "entry 0: 'iss' must be a non-empty string"),
        (
            [{"iss": "https://a.example"}],
            "entry 0 (iss 'https://a.example'): give 'jku' (keys fetched from it), 'jwks' or 'jwks_file'",
        ),
        (
            [{"iss": "https://a.example", "jwks": {"keys": []}, "jwks_file": "k.json"}],
            "'jwks' or 'jwks_file', not both",
        ),
        ([{"iss": "https://a.example", "jku": "http://a.example/jwks"}], "must use https"),
        (
            [{"iss": "https://a.example", "jku": "https://a.example/jwks", "fhir_servers": ["https://x/?q=1"]}],
            "fhir_servers",
        ),
        ([{"iss": "https://a.example", "jku": "https://a.example/jwks", "extra": 1}], "unknown field(s) ['extra']"),
        ([{"iss": "https://a.example", "jwks_file": "missing.json"}], "cannot read"),
        ([{"iss": "https://a.example", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}}], "no usable"),
        (
            [{"iss": "https://a.example", "jwks": {"keys": [{"kty": "EC", "kid": "e"}]}}],
            "'jwks': key 0: kid 'e': not a valid EC public key",
        ),
        ([{"iss": "https://a.example", "jku": "https://a.example/jwks", "tenant": 5}], "'tenant'"),
        (
            [{"iss": "https://a.example", "jku": "https://a.example/jwks", "name": 5}],
            "entry 0 (iss 'https://a.example') at name: 5 is not of type 'string'",
        ),  # caught by the JSON Schema
    ],
)
def test_bad_files_fail_naming_file_and_entry(tmp_path, settings, entries, message):
    path = write_clients(tmp_path, entries)
    with pytest.raises(TrustedClientsError) as info:
        load_registry(path, settings)
    assert path in str(info.value) and message in str(info.value)


def test_duplicate_iss_and_bad_keys_name_the_entry(tmp_path, settings):
    es = Signer("ES384")
    path = write_clients(
        tmp_path, [{"iss": "https://a.example", "jwks": jwks(es)}, {"iss": "https://a.example", "jwks": jwks(es)}]
    )
    with pytest.raises(
        TrustedClientsError, match=r"entry 1 \(iss 'https://a.example'\): iss is already used by entry 0"
    ):
        load_registry(path, settings)
    bad = dict(es.public_jwk, x="AAAA")
    path = write_clients(tmp_path, [{"iss": "https://b.example", "jwks": {"keys": [bad]}}])
    with pytest.raises(TrustedClientsError, match=r"entry 0 \(iss 'https://b.example'\): 'jwks': key 0"):
        load_registry(path, settings)


def test_unreadable_or_non_json_file(tmp_path, settings):
    with pytest.raises(TrustedClientsError, match="does not exist"):
        load_registry(str(tmp_path / "nope.json"), settings)
    (tmp_path / "bad.json").write_text("[{")
    with pytest.raises(TrustedClientsError, match="not valid JSON"):
        load_registry(str(tmp_path / "bad.json"), settings)


def test_http_jku_only_on_loopback_with_the_test_escape_hatch(tmp_path):
    loose = Settings.from_env({"CDS_ALLOW_INSECURE_JKU": "true"})
    ok = write_clients(tmp_path, [{"iss": "i", "jku": "http://127.0.0.1:9/jwks.json"}])
    assert load_registry(ok, loose).get("i").jku == "http://127.0.0.1:9/jwks.json"
    with pytest.raises(TrustedClientsError, match="must use https"):
        load_registry(ok, Settings.from_env({}))
    remote = write_clients(tmp_path, [{"iss": "i", "jku": "http://keys.example.org/jwks.json"}])
    with pytest.raises(TrustedClientsError, match="loopback"):
        load_registry(remote, loose)


def test_start_up_fails_on_a_bad_file_even_with_auth_off(tmp_path):
    path = write_clients(tmp_path, [{"iss": ""}])
    with pytest.raises(TrustedClientsError):
        build_authenticator(Settings.from_env({"CDS_AUTH_MODE": "off", "CDS_TRUSTED_CLIENTS": path}))


def test_auth_off_opens_no_database(tmp_path):
    build_authenticator(
        Settings.from_env({"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/x/db.sqlite3"})
    )
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "name,value",
    [
        ("CDS_JWT_LEEWAY_S", "-1"),
        ("CDS_JWKS_TTL_S", "0"),
        ("CDS_ALLOW_INSECURE_JKU", "maybe"),
        ("CDS_JWT_MAX_LIFETIME_S", "0"),
        ("CDS_JWKS_REFRESH_FLOOR_S", "x"),
    ],
)
def test_auth_settings_are_validated(name, value):
    from cds_service.config import ConfigError

    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_pre_fork_check_reports_a_bad_file_as_a_config_error(tmp_path):
    from cds_service.auth import check_trusted_clients
    from cds_service.config import ConfigError

    base = {"CDS_PUBLIC_BASE_URL": "https://cds.example.org"}
    assert check_trusted_clients(Settings.from_env(base)) == 0
    good = write_clients(tmp_path, [{"iss": "i", "jwks": jwks(Signer())}])
    assert check_trusted_clients(Settings.from_env({**base, "CDS_TRUSTED_CLIENTS": good})) == 1
    bad = write_clients(tmp_path, [{"iss": "i"}])
    with pytest.raises(ConfigError, match="entry 0"):
        check_trusted_clients(Settings.from_env({**base, "CDS_TRUSTED_CLIENTS": bad}))
