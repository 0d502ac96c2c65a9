#!/usr/bin/env bash
# Base images from Debian packages, for builders that reach no container registry.
#
#   images/base-images.sh PYTHON_IMAGE UV_IMAGE UV_VERSION
#
# PYTHON_IMAGE: Debian bookworm (debootstrap, variant minbase) with Debian's
#   python3.11 and ca-certificates, linked into /usr/local/bin where the
#   Dockerfiles' UV_PYTHON and the python:*-slim images have it.
# UV_IMAGE: /uv and /uvx from the uv wheel on PyPI (what ghcr.io/astral-sh/uv holds).
#
# An image that already exists on the daemon is kept. Needs root (debootstrap
# chroots), debootstrap, a Debian mirror ($DEBIAN_MIRROR, default deb.debian.org)
# and a package index for pip. $DOCKER is the docker CLI (default: docker).
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 PYTHON_IMAGE UV_IMAGE UV_VERSION" >&2
  exit 2
fi
python_image=$1 uv_image=$2 uv_version=$3
docker=${DOCKER:-docker}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/glov-base-images.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }

if have "$python_image"; then
  echo "base image $python_image: present"
else
  command -v debootstrap >/dev/null || {
    echo "error: debootstrap is not installed" >&2
    echo "  fix: apt-get install debootstrap (or give PYTHON_IMAGE from a registry)" >&2
    exit 2
  }
  echo "base image $python_image: debootstrap bookworm (minbase + python3.11) from $mirror"
  rootfs=$scratch/rootfs
  debootstrap --variant=minbase --include=python3.11,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$scratch/debootstrap.log" 2>&1 || {
    tail -20 "$scratch/debootstrap.log" >&2
    exit 1
  }
  for name in python3.11 python3 python; do
    ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/$name"
  done
  # Package downloads and indexes are not part of the image.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/*
  tar -C "$rootfs" --numeric-owner -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "debootstrap bookworm minbase + python3.11 (images/base-images.sh)" \
    - "$python_image" >/dev/null
fi

if have "$uv_image"; then
  echo "base image $uv_image: present"
else
  echo "base image $uv_image: /uv and /uvx from the uv $uv_version wheel"
  arch=$(uname -m)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$scratch/wheel" \
    --platform "manylinux_2_17_$arch" --python-version 3.11 "uv==$uv_version"
  mkdir "$scratch/uv"
  python3 - "$scratch/wheel" "$scratch/uv" <<'EOF'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("uv-*.whl"))
with zipfile.ZipFile(wheel) as zf:
    for name in ("uv", "uvx"):
        member = next(m for m in zf.namelist() if m.endswith(f".data/scripts/{name}"))
        target = pathlib.Path(sys.argv[2]) / name
        target.write_bytes(zf.read(member))
        target.chmod(0o755)
EOF
  got=$("$scratch/uv/uv" --version)
  case "$got" in
    "uv $uv_version"|"uv $uv_version "*) ;;
    *) echo "error: the wheel's uv says '$got', not $uv_version" >&2; exit 1 ;;
  esac
  tar -C "$scratch/uv" --numeric-owner --owner=0 --group=0 -c uv uvx \
    | "$docker" import --message "uv $uv_version from its wheel (images/base-images.sh)" \
      - "$uv_image" >/dev/null
fi
