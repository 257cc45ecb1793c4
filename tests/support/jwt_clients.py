"""Test CDS clients: real ES384 / RS384 key pairs made at test time, token minting, a JWKS server.

No key material is ever stored in the repository; every run generates fresh keys.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.servers import LoopbackHTTP, QuietHandler

DROP = object()  # pass as a claim or header value to leave it out of the token


class Signer:
    """One client key pair; `public_jwk` is what goes into the client's JWK Set."""

    def __init__(self, alg: str = "ES384", kid: str | None = None):
        self.alg = alg
        self.kid = kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        if alg.startswith("ES"):
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
            self.private_key = ec.generate_private_key(curve)
            self.public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key()))
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        self.public_jwk.update(kid=self.kid, use="sig", alg=alg)

    def token(
        self, iss: str, aud, *, claims: dict | None = None, headers: dict | None = None, lifetime_s: int = 300
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": iss,
            "aud": aud,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
            "sub": "cds-client",
        }
        payload.update(claims or {})
        payload = {k: v for k, v in payload.items() if v is not DROP}
        head = {"typ": "JWT", "kid": self.kid}
        head.update(headers or {})
        head = {k: v for k, v in head.items() if v is not DROP}
        return jwt.encode(payload, self.private_key, algorithm=self.alg, headers=head)


SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def sandbox_token(signer: Signer, aud: str, *, iss: str = SANDBOX_ISS, jku: str = SANDBOX_JKU) -> str:
    """A token shaped like the CDS Hooks Sandbox's: header alg/typ/kid/jku; claims iss, aud (the exact
    endpoint URL), exp = iat + 300, iat, jti, and no sub."""
    return signer.token(iss, aud, claims={"sub": DROP}, headers={"jku": jku}, lifetime_s=300)


def jwks(*signers: Signer) -> dict:
    return {"keys": [s.public_jwk for s in signers]}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def write_clients(directory: Path, entries: list) -> str:
    path = Path(directory) / "trusted-clients.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return str(path)


class JwksServer(LoopbackHTTP):
    """Serves a mutable JWK Set on loopback and counts every request by path."""

    def __init__(self, document: dict | None = None):
        self.document = document or {"keys": []}
        self.hits: dict[str, int] = {}
        self.redirects: dict[str, str] = {}  # path -> Location, answered with a 302
        # how the answer goes out: "ok"; "drip" (headers and body one byte every drip_s); "truncate" (half the
        # declared Content-Length, then the connection closes); "garbage" (not JSON)
        self.mode = "ok"
        self.drip_s = 0.2
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                with server._lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    body = json.dumps(server.document).encode()
                    location = server.redirects.get(self.path)
                    mode = server.mode
                status = 302 if location else 200 if self.path == "/jwks.json" else 404
                if mode == "garbage":
                    body = b"<html>" + body[:20]
                if mode == "drip":  # status line, headers and body, one byte at a time
                    raw = (
                        f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                    ).encode() + body
                    try:
                        for byte in raw:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(server.drip_s)
                    except OSError:  # the client gave up, as it should
                        pass
                    self.close_connection = True
                    return
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "truncate":
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

        super().__init__(Handler)
        self.url = self.base + "/jwks.json"

    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())
