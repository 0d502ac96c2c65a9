#!/usr/bin/env bash
# `make images`: build glov-gpu and glov-cpu (or the kinds named: gpu, cpu).
#
# Base images: the registry's (python:*-slim, ghcr.io/astral-sh/uv) when the
# daemon has them or can pull them; otherwise the same two made here from
# Debian packages by images/base-images.sh (said on the terminal). Names and
# tags come from components/images.py.
#
# Environment:
#   PY         the Python that runs components.images (default: .venv/bin/python)
#   DOCKER     a docker CLI that builds with BuildKit (default: docker)
#   CA_BUNDLE  a CA bundle for the builder's downloads (a TLS-inspecting proxy):
#              passed as the build secret `ca` (default: $SSL_CERT_FILE if it is a file)
#   BUILD_NETWORK  network of the build's RUN steps (default: host; a daemon
#              started with --bridge=none has no other)
#   REGISTRY   image name prefix (components/images.py)
set -euo pipefail
cd "$(dirname "$0")/.."

py=${PY:-.venv/bin/python}
docker=${DOCKER:-docker}
network=${BUILD_NETWORK:-host}
eval "$("$py" -m components.images)"
if [ $# -gt 0 ]; then kinds=("$@"); else kinds=(gpu cpu); fi

fail() {
  echo "error: $1" >&2
  echo "  fix: $2" >&2
  exit 2
}

DOCKER_BUILDKIT=1 "$docker" build --help 2>/dev/null | grep -q -- '--secret' \
  || fail "$docker cannot build with BuildKit (no 'build --secret')" \
    "use a docker CLI with BuildKit: DOCKER=/usr/bin/docker (Debian's docker.io) or one with buildx"
"$docker" info >/dev/null 2>&1 \
  || fail "no Docker daemon answers ${DOCKER_HOST:-at the default socket}" \
    "start dockerd, or set DOCKER_HOST to its socket"

ca=${CA_BUNDLE-${SSL_CERT_FILE:-}}
secret=()
if [ -n "$ca" ]; then
  [ -f "$ca" ] || fail "CA_BUNDLE=$ca is not a file" "give the builder's CA bundle, or CA_BUNDLE="
  secret=(--secret "id=ca,src=$ca")
fi

# The registry's base images when present or pullable, else the Debian-made ones.
available() { "$docker" image inspect "$1" >/dev/null 2>&1 || "$docker" pull -q "$1" >/dev/null 2>&1; }
if available "$PYTHON_IMAGE" && available "$UV_IMAGE"; then
  python_image=$PYTHON_IMAGE uv_image=$UV_IMAGE
else
  echo "no registry answered for $PYTHON_IMAGE / $UV_IMAGE:" \
    "building the base images from Debian packages (images/base-images.sh)"
  python_image=$LOCAL_PYTHON_IMAGE uv_image=$LOCAL_UV_IMAGE
  started=$(date +%s)
  DOCKER=$docker images/base-images.sh "$python_image" "$uv_image" "$UV_VERSION"
  echo "base images ready in $(($(date +%s) - started)) s"
fi

for kind in "${kinds[@]}"; do
  case "$kind" in
    gpu) tag=$GPU_IMAGE ;;
    cpu) tag=$CPU_IMAGE ;;
    *) fail "unknown image kind '$kind'" "give gpu, cpu or nothing (both)" ;;
  esac
  echo "building $tag (images/Dockerfile.$kind, base $python_image)"
  started=$(date +%s)
  DOCKER_BUILDKIT=1 "$docker" build --network "$network" "${secret[@]}" \
    -f "images/Dockerfile.$kind" \
    --build-arg "VERSION=$VERSION" \
    --build-arg "PYTHON_IMAGE=$python_image" \
    --build-arg "UV_IMAGE=$uv_image" \
    -t "$tag" .
  size=$("$docker" image inspect -f '{{.Size}}' "$tag")
  echo "built $tag in $(($(date +%s) - started)) s: $(awk -v b="$size" 'BEGIN { printf "%.2f GB", b / 1e9 }')"
done
