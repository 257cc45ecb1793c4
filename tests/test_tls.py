"""`cds-service serve` speaks TLS itself with CDS_TLS_CERT / CDS_TLS_KEY (issue 10 item 10).

The certificate is made here (cryptography) for 127.0.0.1 and trusted explicitly by the client;
TLS 1.2 and 1.3 must work and TLS 1.1 must be refused by the server.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cds_service.config import ConfigError, Settings
from tests.support.gunicorn import served


def _certificate(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cds-test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=3650))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def _handshake(port: int, cafile: str, version: ssl.TLSVersion) -> str:
    context = ssl.create_default_context(cafile=cafile)
    with warnings.catch_warnings():  # TLSVersion.TLSv1_1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer the old protocol at all
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            chunks = []
            while chunk := tls.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks).decode()


def test_serve_speaks_tls_1_2_and_1_3_and_refuses_1_1(tmp_path):
    cert, key = _certificate(tmp_path)
    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3",
        "CDS_LOG_LEVEL": "WARNING",
        "CDS_TLS_CERT": cert,
        "CDS_TLS_KEY": key,
    }
    with served(env, tmp_path, workers=1) as (url, _log):
        assert url.startswith("https://")
        port = int(url.rsplit(":", 1)[1])
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            answer = _handshake(port, cert, version)
            assert answer.startswith("HTTP/1.1 200") and '"status":"ok"' in answer
        with pytest.raises(ssl.SSLError) as refused:
            _handshake(port, cert, ssl.TLSVersion.TLSv1_1)
        if "NO_PROTOCOLS_AVAILABLE" in str(refused.value) or "NO_CIPHERS" in str(refused.value):
            pytest.skip("this OpenSSL cannot offer TLS 1.1 even to be refused")
        assert "PROTOCOL_VERSION" in str(refused.value).upper() or "VERSION" in str(refused.value).upper()


def test_the_servers_context_raises_a_permissive_minimum_to_tls_1_2():
    """Python's own default minimum is 1.2 today; ours must not depend on the platform's default."""
    from cds_service.server import _tls_context

    def permissive():
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        return context

    assert _tls_context(None, permissive).minimum_version == ssl.TLSVersion.TLSv1_2


def test_tls_settings_come_as_a_pair_of_readable_files(tmp_path):
    cert, key = _certificate(tmp_path)
    assert Settings.from_env({"CDS_TLS_CERT": cert, "CDS_TLS_KEY": key}).tls_cert == cert
    with pytest.raises(ConfigError, match="together"):
        Settings.from_env({"CDS_TLS_CERT": cert})
    with pytest.raises(ConfigError, match="CDS_TLS_KEY"):
        Settings.from_env({"CDS_TLS_CERT": cert, "CDS_TLS_KEY": str(tmp_path / "missing.pem")})
