"""`glov submit`: run ids checked before the server is asked, server failures as GlovErrors."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.errors import GlovError, RunDirError
from pipelines.submit import healthz, kfp_errors, make_client, submit_request


@pytest.mark.parametrize("run_id", ["../x", "a/b", ".hidden", ""])
def test_run_id_parameter_that_would_leave_the_store(run_id):
    cfg = load_config("smoke")
    if not run_id:  # empty: the pod names the run after the KFP job, as before
        assert submit_request(cfg, "p.yaml", params={"run_id": ""})["arguments"] == {"run_id": ""}
        return
    with pytest.raises(RunDirError, match="not a valid run directory name"):
        submit_request(cfg, "p.yaml", params={"run_id": run_id})


@pytest.mark.parametrize("name", ["../x", "runs/r1", "a..b"])
def test_path_like_run_name_is_refused(name):
    with pytest.raises(RunDirError, match="looks like a path") as err:
        submit_request(load_config("smoke"), "p.yaml", run_name=name)
    assert "--param run_id" in err.value.fix


def test_display_run_name_still_names_the_kfp_run_only():
    req = submit_request(load_config("smoke"), "p.yaml", run_name="nightly run 7")
    assert req["run_name"] == "nightly run 7" and "run_id" not in req["arguments"]


def test_host_that_does_not_answer():
    host = "http://127.0.0.1:1"
    with pytest.raises(GlovError, match=r"127.0.0.1:1 does not answer") as err, kfp_errors(host):
        make_client(host)
    assert "--host" in err.value.fix


def test_host_whose_healthz_does_not_answer():
    """`glov submit` asks healthz (urllib) before kfp.Client (urllib3): the same error."""
    host = "http://127.0.0.1:1"
    with pytest.raises(GlovError, match=r"127.0.0.1:1 does not answer") as err, kfp_errors(host):
        healthz(host)
    assert "--host" in err.value.fix


def test_healthz_refused_names_the_token_fix_or_the_status():
    from urllib.error import HTTPError

    def refused(code: int, reason: str) -> HTTPError:
        return HTTPError("http://kfp/apis/v2beta1/healthz", code, reason, {}, None)  # type: ignore[arg-type]

    with pytest.raises(GlovError, match=r"HTTP 401") as err, kfp_errors("http://kfp", "team-a"):
        raise refused(401, "Unauthorized")
    assert "--token-file" in err.value.fix
    other = pytest.raises(GlovError, match=r"refused the request: HTTP 502 Bad Gateway")
    with other, kfp_errors("http://kfp"):
        raise refused(502, "Bad Gateway")


def test_server_that_refuses():
    from kfp_server_api.exceptions import ApiException

    refused = pytest.raises(GlovError, match=r"refused the request: HTTP 404 Not Found")
    with refused, kfp_errors("http://kfp"):
        raise ApiException(status=404, reason="Not Found")
