#!/usr/bin/env python3
"""An OAuth 2.0 token endpoint for librdkafka's 0126_oauthbearer_oidc.

Usage: scripts/conformance_oidc.py --dir DIR [--port N]

Serves what trivup's OauthbearerOIDCApp serves the suite, on 127.0.0.1:
  GET  /keys               the JWKS (one RSA key, kid "abcdefg") the broker
                           checks token signatures against;
  POST /retrieve           a token valid for 60 s: grant_type
                           client_credentials (HTTP Basic client id and
                           secret, scope one of VALID_SCOPES) or
                           urn:ietf:params:oauth:grant-type:jwt-bearer (an
                           RS256 assertion signed by the client key, with a
                           sub, unexpired; scope, if any, valid);
  GET  /retrieve?...       the same token to Azure IMDS-style metadata
                           authentication (client_id, resource, api-version,
                           header Metadata: true);
  POST /retrieve/badformat a token whose signature is spoilt;
  POST /retrieve/expire    a token that expired a second ago.
Refused requests get 400 with the reason.

Tokens: RS256, iss "issuer", sub "subject", aud "api://default".
At start, makes with the openssl CLI the server's signing key and the
client's key (DIR/client.key.pem, and DIR/client.key.enc.pem encrypted
with a random passphrase), then prints one JSON line: the URLs, the paths
and the passphrase. Standard library only: RSA PKCS#1 v1.5 signatures are
computed from the key's numbers.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLIENT_ID, CLIENT_SECRET = "123", "abc"
VALID_SCOPES = {"test", "test-scope", "api://1234-abcd/.default"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KID = "abcdefg"
ISSUER, SUBJECT, AUDIENCE = "issuer", "subject", "api://default"
# Seconds an assertion's exp and nbf may be off by.
CLOCK_SKEW = 30
# DER of the DigestInfo prefix for SHA-256 (RFC 8017, 9.2 note 1).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RsaKey:
    """An RSA key made by openssl; its numbers read from `openssl pkey -text`."""

    def __init__(self, path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", str(path)],
                       check=True, capture_output=True)
        text = subprocess.run(["openssl", "pkey", "-in", str(path), "-noout", "-text"],
                              check=True, capture_output=True, text=True).stdout
        self.path = path
        self.n = self._number(text, "modulus")
        self.d = self._number(text, "privateExponent")
        self.e = int(re.search(r"publicExponent: (\d+)", text).group(1))
        self.size = (self.n.bit_length() + 7) // 8

    @staticmethod
    def _number(text, name):
        block = re.search(rf"^{name}:\n((?:\s+[0-9a-f:]+\n)+)", text, re.M).group(1)
        return int(re.sub(r"[\s:]", "", block), 16)

    def _encoded(self, message):
        digest = SHA256_PREFIX + hashlib.sha256(message).digest()
        return b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest

    def sign(self, message):
        m = int.from_bytes(self._encoded(message), "big")
        return pow(m, self.d, self.n).to_bytes(self.size, "big")

    def verify(self, message, signature):
        if len(signature) != self.size:
            return False
        s = int.from_bytes(signature, "big")
        return s < self.n and pow(s, self.e, self.n).to_bytes(self.size, "big") == self._encoded(message)

    def jwk(self):
        def num(x):
            return b64url(x.to_bytes((x.bit_length() + 7) // 8, "big"))
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID,
                "n": num(self.n), "e": num(self.e)}

    def jwt(self, claims):
        header = {"kid": KID, "alg": "RS256", "typ": "JWT"}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        return signing_input + "." + b64url(self.sign(signing_input.encode()))


class Refused(Exception):
    """A request the endpoint answers with 400 and this reason."""


def check_assertion(client_key, assertion):
    """An RS256 JWT signed by the client's key, with a sub, in its lifetime."""
    try:
        header_b64, claims_b64, signature_b64 = assertion.split(".")
        header = json.loads(unb64url(header_b64))
        claims = json.loads(unb64url(claims_b64))
        signature = unb64url(signature_b64)
    except ValueError as e:
        raise Refused(f"the assertion is not a JWT: {e}") from e
    if header.get("alg") != "RS256":
        raise Refused(f"the assertion's algorithm {header.get('alg')!r} is not RS256")
    if not client_key.verify(f"{header_b64}.{claims_b64}".encode(), signature):
        raise Refused("the assertion's signature is not the client key's")
    now = time.time()
    if "exp" in claims and claims["exp"] + CLOCK_SKEW < now:
        raise Refused("the assertion expired")
    if "nbf" in claims and claims["nbf"] - CLOCK_SKEW > now:
        raise Refused("the assertion is not valid yet")
    if not claims.get("sub"):
        raise Refused("the assertion has no sub")


def handler(server_key, client_key):
    def token(lifetime, spoilt=False):
        now = int(time.time())
        jwt = server_key.jwt({"exp": now + lifetime, "iat": now, "iss": ISSUER,
                              "sub": SUBJECT, "aud": AUDIENCE})
        return {"access_token": jwt + ("invalid" if spoilt else ""), "token_type": "bearer"}

    def check_scope(scope):
        if scope is not None and scope not in VALID_SCOPES:
            raise Refused(f"invalid scope {scope!r}: not one of {sorted(VALID_SCOPES)}")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("oidc: " + fmt % args + "\n")

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def answer(self, make):
            try:
                self.reply(200, make())
            except Refused as e:
                self.reply(400, {"error": "invalid_request", "error_description": str(e)})

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path == "/keys":
                self.reply(200, {"keys": [server_key.jwk()]})
            elif path == "/retrieve":
                self.answer(lambda: self.metadata(urllib.parse.parse_qs(query)))
            else:
                self.reply(404, {"error": f"no such path: {path}"})

        def metadata(self, params):
            if self.headers.get("Accept") != "application/json":
                raise Refused('Accept must be "application/json"')
            kind = params.get("__metadata_authentication_type", [None])[0]
            if kind != "azure_imds":
                raise Refused(f"unsupported __metadata_authentication_type {kind!r}")
            for field in ("client_id", "resource", "api-version"):
                if field not in params:
                    raise Refused(f"{field} is required in the query")
            if (self.headers.get("Metadata") or "").lower() != "true":
                raise Refused('the Metadata header must be "true"')
            return token(60)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode(errors="replace")
            if self.path == "/retrieve":
                self.answer(lambda: self.grant(urllib.parse.parse_qs(body)))
            elif self.path == "/retrieve/badformat":
                self.reply(200, token(30, spoilt=True))
            elif self.path == "/retrieve/expire":
                self.reply(200, token(-1))
            else:
                self.reply(404, {"error": f"no such path: {self.path}"})

        def grant(self, form):
            if self.headers.get("Accept") != "application/json":
                raise Refused('Accept must be "application/json"')
            grant_type = form.get("grant_type", [None])[0]
            scope = form.get("scope", [None])[0]
            if grant_type == JWT_BEARER:
                check_scope(scope)
                assertion = form.get("assertion", [None])[0]
                if not assertion:
                    raise Refused("assertion is required")
                check_assertion(client_key, assertion)
            elif grant_type == "client_credentials":
                self.check_client()
                check_scope(scope)
            else:
                raise Refused(f"unsupported grant_type {grant_type!r}")
            return token(60)

        def check_client(self):
            auth = self.headers.get("Authorization") or ""
            if not auth.startswith("Basic "):
                raise Refused("client_credentials needs HTTP Basic client authentication")
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError as e:
                raise Refused("the Authorization header is not Base64") from e
            if (urllib.parse.unquote(user), urllib.parse.unquote(password)) != (CLIENT_ID, CLIENT_SECRET):
                raise Refused("unknown client id or wrong secret")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, type=Path, help="where the keys are written")
    ap.add_argument("--port", type=int, default=0, help="default: any free port")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    server_key = RsaKey(args.dir / "server.key.pem")
    client_key = RsaKey(args.dir / "client.key.pem")
    passphrase = secrets.token_urlsafe(12)
    encrypted = args.dir / "client.key.enc.pem"
    subprocess.run(["openssl", "pkey", "-in", str(client_key.path), "-aes256",
                    "-passout", f"pass:{passphrase}", "-out", str(encrypted)],
                   check=True, capture_output=True)
    for path in (server_key.path, client_key.path, encrypted):
        os.chmod(path, 0o600)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(server_key, client_key))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(json.dumps({
        "valid_url": f"{base}/retrieve",
        "badformat_url": f"{base}/retrieve/badformat",
        "expired_url": f"{base}/retrieve/expire",
        "jwks_url": f"{base}/keys",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "test",
        "client_private_key": str(client_key.path),
        "client_private_key_encrypted": str(encrypted),
        "client_private_key_password": passphrase,
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
