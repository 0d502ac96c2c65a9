"""Credentials for a multi-user Kubeflow Pipelines, the ways kfp documents them.

A multi-user install authenticates each API call by its `Authorization: Bearer`
token (a TokenReview: a ServiceAccount token whose audience is
pipelines.kubeflow.org) and authorises it per namespace (a SubjectAccessReview:
the identity needs kubeflow-pipelines-edit or -view in the profile namespace).
`glov submit` and the GlovRun operator both take the token from, in order:

1. a token file given explicitly (`glov submit --token-file`);
2. $GLOV_KFP_TOKEN, a token itself (e.g. `kubectl create token ... --audience
   pipelines.kubeflow.org` on a workstation);
3. $KF_PIPELINES_SA_TOKEN_PATH, or kfp's default path if that file exists: a
   projected ServiceAccount token in a pod (the operator's Deployment in
   manifests/overlays/kubeflow mounts one).

A file is read on every request, as kfp's ServiceAccountTokenVolumeCredentials
reads it, because the kubelet rotates projected tokens. Without any of them
calls go out without credentials, which a single-user install accepts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glov.errors import GlovError

TOKEN_ENV = "GLOV_KFP_TOKEN"
# kfp's own names (kfp.client.KF_PIPELINES_SA_TOKEN_ENV / _PATH), here without importing kfp.
SA_TOKEN_PATH_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
DEFAULT_SA_TOKEN_PATH = "/var/run/secrets/kubeflow/pipelines/token"
AUDIENCE = "pipelines.kubeflow.org"
# The ClusterRole a multi-user Kubeflow aggregates for editing pipelines and runs.
EDIT_ROLE = "kubeflow-pipelines-edit"


@dataclass(frozen=True)
class KfpAuth:
    """Where the bearer token comes from: a token, a file, or none."""

    token: str | None = None
    token_file: str | None = None
    source: str = "no credentials"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of kfp.Client for these credentials."""
        if self.token:
            return {"existing_token": self.token}
        if self.token_file:
            from kfp.client.set_volume_credentials import ServiceAccountTokenVolumeCredentials

            return {"credentials": ServiceAccountTokenVolumeCredentials(self.token_file)}
        return {}

    def headers(self) -> dict[str, str]:
        """The Authorization header for a call made without kfp.Client (read now)."""
        token = self.token
        if self.token_file:
            token = read_token(self.token_file)
        return {"Authorization": f"Bearer {token}"} if token else {}


def read_token(path: str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise GlovError(
            f"cannot read the Kubeflow token file {path}: {exc.strerror or exc}",
            "check the path (a projected ServiceAccount token is mounted by the pod spec)",
        ) from None
    if not token:
        raise GlovError(f"the Kubeflow token file {path} is empty", "write a token into it")
    return token


def resolve_auth(token_file: str | None = None, env: Mapping[str, str] | None = None) -> KfpAuth:
    """The credentials to use, by the order in the module docstring."""
    env = os.environ if env is None else env
    if token_file:
        read_token(token_file)  # a wrong path fails here, before anything is compiled
        return KfpAuth(token_file=token_file, source=f"token file {token_file}")
    if env.get(TOKEN_ENV, "").strip():
        return KfpAuth(token=env[TOKEN_ENV].strip(), source=f"${TOKEN_ENV}")
    path = env.get(SA_TOKEN_PATH_ENV)
    if path:
        read_token(path)
        return KfpAuth(token_file=path, source=f"token file {path} (${SA_TOKEN_PATH_ENV})")
    if Path(DEFAULT_SA_TOKEN_PATH).is_file():
        return KfpAuth(
            token_file=DEFAULT_SA_TOKEN_PATH, source=f"token file {DEFAULT_SA_TOKEN_PATH}"
        )
    return KfpAuth()


def refusal(
    status: int, namespace: str | None, auth: KfpAuth, *, how_to_fix_token: str
) -> tuple[str, str, str]:
    """(condition reason, problem, fix) of a 401 or 403 from Kubeflow Pipelines.

    `how_to_fix_token` says where this caller's token comes from (a flag, a mount).
    """
    if status == 401:
        return (
            "KubeflowUnauthorized",
            f"Kubeflow Pipelines did not accept the credentials (HTTP 401; sent: {auth.source})",
            f"{how_to_fix_token}; the token's audience must be {AUDIENCE}",
        )
    where = f"namespace {namespace}" if namespace else "the namespace it asked for"
    return (
        "KubeflowForbidden",
        f"Kubeflow Pipelines refused access to {where} (HTTP 403; sent: {auth.source})",
        f"bind the token's identity to the ClusterRole {EDIT_ROLE} in {where} with a "
        "RoleBinding (manifests/overlays/kubeflow/operator-kfp-access.yaml), or use that "
        "profile's namespace",
    )
