#!/bin/sh
# Bucket plus a user that can only touch that bucket, so the pipeline never
# holds MinIO's root credentials. Safe to run again: every step is idempotent.
set -eu

for name in MINIO_ROOT_USER MINIO_ROOT_PASSWORD AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    READONLY_AWS_ACCESS_KEY_ID READONLY_AWS_SECRET_ACCESS_KEY; do
    eval "value=\${$name:-}"
    case "$value" in
        "" | *REPLACE_ME*)
            echo "$name is empty or still REPLACE_ME: fill in secrets glov-minio-root, glov-s3 and glov-s3-readonly" >&2
            exit 1
            ;;
    esac
done
if [ "$AWS_ACCESS_KEY_ID" = "$MINIO_ROOT_USER" ] || [ "$READONLY_AWS_ACCESS_KEY_ID" = "$MINIO_ROOT_USER" ]; then
    echo "glov-s3 and glov-s3-readonly must name users other than MinIO's root user" >&2
    exit 1
fi
if [ "$READONLY_AWS_ACCESS_KEY_ID" = "$AWS_ACCESS_KEY_ID" ]; then
    echo "glov-s3-readonly must name another user than glov-s3 (it gets a read-only policy)" >&2
    exit 1
fi

# The pod's root filesystem is read-only: mc config and the policy go to /tmp.
tmp="${TMPDIR:-/tmp}"
mcx() { mc --config-dir "$tmp/mc" "$@"; }

# MinIO may still be starting (readiness, volume attach): wait up to 5 minutes.
tries=0
until mcx alias set glov "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "MinIO at $MINIO_URL did not accept the root credentials" >&2
        exit 1
    fi
    sleep 5
done

mcx mb --ignore-existing "glov/$GLOV_S3_BUCKET"

cat >"$tmp/glov-pipeline-policy.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      "Resource": ["arn:aws:s3:::$GLOV_S3_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                 "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      "Resource": ["arn:aws:s3:::$GLOV_S3_BUCKET/*"]
    }
  ]
}
JSON
cat >"$tmp/glov-readonly-policy.json" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
      "Resource": ["arn:aws:s3:::$GLOV_S3_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject"],
      "Resource": ["arn:aws:s3:::$GLOV_S3_BUCKET/*"]
    }
  ]
}
JSON

# user_with_policy USER SECRET POLICY: the policy (from $tmp/POLICY-policy.json),
# the user, and the attachment, accepting only "already attached" on a re-run.
user_with_policy() {
    mcx admin policy create glov "$3" "$tmp/$3-policy.json"
    mcx admin user add glov "$1" "$2"
    if ! mcx admin policy attach glov "$3" --user "$1"; then
        case "$(mcx admin user info glov "$1" --json)" in
            *"$3"*) ;;
            *) exit 1 ;;
        esac
    fi
}
user_with_policy "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" glov-pipeline
user_with_policy "$READONLY_AWS_ACCESS_KEY_ID" "$READONLY_AWS_SECRET_ACCESS_KEY" glov-readonly
echo "bucket $GLOV_S3_BUCKET, its pipeline user and the operator's read-only user are ready"
