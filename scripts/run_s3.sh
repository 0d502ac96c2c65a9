#!/usr/bin/env bash
# Start a local S3-compatible server (nanio) for trying the s3:// store without
# a cluster: `make run-s3`, then export the variables it prints in another
# shell and use store.uri: s3://glov/runs. Ctrl-C stops it; data persists in
# $GLOV_S3_DATA. It listens on 127.0.0.1 only, so the fixed dev credentials
# below never leave this machine (override them via the environment).
set -euo pipefail

cd "$(dirname "$0")/.."
port="${GLOV_S3_PORT:-9000}"
data="${GLOV_S3_DATA:-.cache/s3}"
bucket="${GLOV_S3_BUCKET:-glov}"
access="${AWS_ACCESS_KEY_ID:-glov-dev}"
secret="${AWS_SECRET_ACCESS_KEY:-glov-dev-secret}"
nanio=".venv/bin/nanio"

if [[ ! -x "$nanio" ]]; then
  echo "run_s3: $nanio not found; run 'uv sync' (nanio is a dev dependency)" >&2
  exit 1
fi
# nanio keeps a bucket as a directory; creating it here saves a create_bucket step.
mkdir -p "$data/$bucket/.nanio-meta"

cat <<MSG
S3 server (nanio) on 127.0.0.1:$port, data in $data, bucket '$bucket'.
In another shell:

  export GLOV_S3_ENDPOINT=127.0.0.1:$port
  export GLOV_S3_SECURE=false
  export AWS_ACCESS_KEY_ID=$access
  export AWS_SECRET_ACCESS_KEY=$secret

and set store.uri: s3://$bucket/runs (models/datasets: s3://$bucket/models/...).
Ctrl-C stops the server.
MSG

export NANIO_ACCESS_KEY="$access" NANIO_SECRET_KEY="$secret"
exec "$nanio" serve --data-dir "$data" --host 127.0.0.1 --port "$port" --log-level warning
