"""A trusted client for the benchmark: a P-384 key made on the spot, registered inline, and a
supply of pre-signed ES384 tokens (one per request: each jti is accepted once)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "https://bench-ehr.example"


class BenchClient:
    def __init__(self, directory: Path):
        self._key = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        public.update(kid="bench-1", alg="ES384", use="sig")
        self.clients_file = directory / "bench-trusted-clients.json"
        self.clients_file.write_text(json.dumps([{"iss": ISSUER, "jwks": {"keys": [public]}}]))

    def tokens(self, audience: str, count: int) -> list[dict]:
        now = int(time.time())
        return [
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    {"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex},
                    self._key,
                    algorithm="ES384",
                    headers={"kid": "bench-1", "typ": "JWT"},
                )
            }
            for _ in range(count)
        ]
