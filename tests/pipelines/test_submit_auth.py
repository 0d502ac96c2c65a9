"""`glov submit` against a multi-user Kubeflow Pipelines (tests/servers/kfp.py in
multi-user mode): 401 without a token, 403 outside the token's namespaces, a run
with a token from --token-file or $GLOV_KFP_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.main import main
from pipelines.kfp_auth import SA_TOKEN_PATH_ENV, TOKEN_ENV
from tests.servers.kfp import KfpServer, running_kfp_server
from tests.servers.s3 import free_port

TOKENS = {
    "team-a-token": {
        "identity": "system:serviceaccount:team-a:default-editor",
        "namespaces": ["team-a"],
    },
    "team-b-token": {
        "identity": "system:serviceaccount:team-b:default-editor",
        "namespaces": ["team-b"],
    },
}


@pytest.fixture(scope="module")
def kfp() -> Iterator[KfpServer]:
    with running_kfp_server(free_port()) as server:
        server.multi_user(TOKENS)
        yield server


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(SA_TOKEN_PATH_ENV, raising=False)


def submit(kfp: KfpServer, *extra: str) -> int:
    argv = ["submit", "--config", "smoke", "--set", "search.steps=1", "--host", kfp.url]
    return main([*argv, "--run-name", "auth-test", *extra])


def test_without_a_token_the_server_answers_401_and_the_error_names_the_fix(kfp, capsys):
    before = len(kfp.runs())
    assert submit(kfp, "--namespace", "team-a") == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "sent: no credentials" in err
    assert "--token-file" in err and TOKEN_ENV in err and "pipelines.kubeflow.org" in err
    assert "Traceback" not in err
    assert (401, "GET", "/apis/v2beta1/experiments") in kfp.refusals()
    assert len(kfp.runs()) == before


def test_a_token_outside_its_namespace_gets_403_naming_the_rolebinding(kfp, capsys, tmp_path):
    token = tmp_path / "token"
    token.write_text("team-b-token\n")
    before = len(kfp.runs())
    assert submit(kfp, "--namespace", "team-a", "--token-file", str(token)) == 2
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "namespace team-a" in err
    assert "kubeflow-pipelines-edit" in err and "RoleBinding" in err
    assert f"token file {token}" in err
    assert len(kfp.runs()) == before


def test_with_a_token_file_the_run_starts_in_the_namespace(kfp, capsys, tmp_path):
    token = tmp_path / "token"
    token.write_text("team-a-token\n")
    assert submit(kfp, "--namespace", "team-a", "--token-file", str(token)) == 0
    assert "started KFP run" in capsys.readouterr().out
    run = kfp.runs()[-1]
    assert (run["display_name"], run["namespace"]) == ("auth-test", "team-a")


def test_with_a_token_in_the_environment_the_run_starts(kfp, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "team-b-token")
    assert submit(kfp, "--namespace", "team-b") == 0
    assert kfp.runs()[-1]["namespace"] == "team-b"


def test_multi_user_without_a_namespace_is_refused_before_any_call(kfp, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "team-a-token")
    refusals = len(kfp.refusals())
    assert submit(kfp) == 2
    err = capsys.readouterr().err
    assert "multi-user" in err and "--namespace" in err
    assert len(kfp.refusals()) == refusals


def test_a_missing_token_file_is_an_error_before_compiling(kfp, capsys, tmp_path):
    assert submit(kfp, "--namespace", "team-a", "--token-file", str(tmp_path / "none")) == 2
    err = capsys.readouterr().err
    assert "cannot read the Kubeflow token file" in err and "Traceback" not in err
