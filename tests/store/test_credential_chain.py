"""Credentials through the provider chain: environment keys (with a session token),
then web identity, then the AWS credentials file; checked against the real S3 server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glov.store.credentials import S3Settings, StoreConfigError
from glov.store.s3 import S3Store
from tests.servers.s3 import S3Server
from tests.store._config import FAST

ENDPOINT = {"GLOV_S3_ENDPOINT": "minio:9000"}


def _credentials_file(path: Path, profiles: dict[str, tuple[str, str]]) -> Path:
    path.write_text(
        "".join(
            f"[{name}]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n"
            for name, (ak, sk) in profiles.items()
        )
    )
    return path


def test_environment_keys_come_first_then_the_file(tmp_path: Path) -> None:
    f = _credentials_file(tmp_path / "credentials", {"default": ("file-ak", "file-sk")})
    env = dict(ENDPOINT, AWS_SHARED_CREDENTIALS_FILE=str(f))
    both = dict(env, AWS_ACCESS_KEY_ID="env-ak", AWS_SECRET_ACCESS_KEY="env-sk")
    assert S3Settings.from_env(both).credentials.retrieve().access_key == "env-ak"
    assert S3Settings.from_env(env).credentials.retrieve().access_key == "file-ak"
    assert str(f) in S3Settings.from_env(env).source


def test_profile_selects_the_section_and_a_missing_profile_says_so(tmp_path: Path) -> None:
    f = _credentials_file(tmp_path / "c", {"default": ("a", "b"), "glov": ("g-ak", "g-sk")})
    env = dict(ENDPOINT, AWS_SHARED_CREDENTIALS_FILE=str(f), AWS_PROFILE="glov")
    assert S3Settings.from_env(env).credentials.retrieve().secret_key == "g-sk"
    with pytest.raises(StoreConfigError, match="no object-store credentials") as info:
        S3Settings.from_env(dict(env, AWS_PROFILE="absent")).credentials.retrieve()
    assert "AWS_PROFILE" in info.value.fix


def test_session_token_and_half_a_key_pair() -> None:
    env = dict(ENDPOINT, AWS_ACCESS_KEY_ID="ak", AWS_SECRET_ACCESS_KEY="sk")
    keys = S3Settings.from_env(dict(env, AWS_SESSION_TOKEN="tok")).credentials.retrieve()
    assert keys.session_token == "tok"
    with pytest.raises(StoreConfigError, match="AWS_SECRET_ACCESS_KEY or MINIO_SECRET_KEY"):
        S3Settings.from_env(dict(ENDPOINT, AWS_ACCESS_KEY_ID="ak"))


def test_no_source_at_all_lists_every_source(tmp_path: Path) -> None:
    with pytest.raises(StoreConfigError) as info:
        S3Settings.from_env(dict(ENDPOINT, HOME=str(tmp_path)))  # no ~/.aws/credentials there
    message = str(info.value)
    assert "AWS_ACCESS_KEY_ID" in message and "AWS_WEB_IDENTITY_TOKEN_FILE" in message
    assert "AWS_SHARED_CREDENTIALS_FILE" in message


def test_session_token_is_sent_with_every_request(
    bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "glov-session-token")
    store = S3Store.from_uri(f"s3://{bucket}", FAST)
    sent: list[dict] = []
    http = store._client._http  # the pool every request of this client goes through
    real = http.urlopen

    def spy(method, url, *args, **kwargs):
        sent.append(dict(kwargs.get("headers") or {}))
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(http, "urlopen", spy)
    store.write_text("k", "v")
    assert store.read_text("k") == "v"
    assert sent and all(h.get("X-Amz-Security-Token") == "glov-session-token" for h in sent)


def test_credentials_file_works_against_the_server(
    bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ak, sk = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    f = _credentials_file(tmp_path / "credentials", {"default": ("x", "y"), "glov": (ak, sk)})
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(f))
    monkeypatch.setenv("AWS_PROFILE", "glov")
    store = S3Store.from_uri(f"s3://{bucket}", FAST)
    store.write_text("from-file", "ok")
    assert store.read_text("from-file") == "ok"
    assert sk not in repr(store) and sk not in repr(store.settings)


def test_web_identity_token_is_exchanged_at_sts_and_used(
    bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """IRSA's variables, no keys: the token goes to STS (a stub here), whose temporary
    keys then sign the requests to the real S3 server."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlparse

    ak, sk = os.environ.pop("AWS_ACCESS_KEY_ID"), os.environ.pop("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws/credentials to fall back on
    seen: list[dict] = []

    class Sts(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(parse_qs(urlparse(self.path).query))
            body = (
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                f"<Credentials><AccessKeyId>{ak}</AccessKeyId>"
                f"<SecretAccessKey>{sk}</SecretAccessKey><SessionToken>sts-token</SessionToken>"
                "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

    sts = HTTPServer(("127.0.0.1", 0), Sts)
    threading.Thread(target=sts.serve_forever, daemon=True).start()
    try:
        token = tmp_path / "token"
        token.write_text("the-pod-jwt")
        monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
        monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/glov")
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{sts.server_port}")
        store = S3Store.from_uri(f"s3://{bucket}", FAST)
        store.write_text("via-sts", "ok")
        assert store.read_text("via-sts") == "ok"
    finally:
        sts.shutdown()
    assert len(seen) == 1  # exchanged once, reused until it expires
    assert seen[0]["Action"] == ["AssumeRoleWithWebIdentity"]
    assert seen[0]["WebIdentityToken"] == ["the-pod-jwt"]
    assert seen[0]["RoleArn"] == ["arn:aws:iam::1:role/glov"]
