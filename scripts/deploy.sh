#!/usr/bin/env bash
# Deploy the embedding endpoint with `pulumi up`. State goes to the local backend (~/.pulumi) unless
# PULUMI_BACKEND_URL says otherwise; the stack is STACK (default dev, i.e. Pulumi.dev.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${STACK:-dev}"

# shellcheck source=scripts/require-pulumi.sh
source scripts/require-pulumi.sh
require_pulumi "make deploy"

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://~}"
echo "Pulumi state backend: ${PULUMI_BACKEND_URL}   stack: ${STACK}"

# Creates .venv and installs requirements.txt, as Pulumi.yaml's runtime options say.
pulumi install

if ! .venv/bin/python - <<'PY'
import sys

import boto3
import botocore.exceptions

try:
    identity = boto3.client("sts").get_caller_identity()
except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
    sys.exit("error: no AWS credentials found: run `aws configure`, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID "
             "and AWS_SECRET_ACCESS_KEY")
except botocore.exceptions.ClientError as error:
    sys.exit(f"error: AWS rejected the credentials: {error}")
print(f"AWS account {identity['Account']} as {identity['Arn']}")
PY
then
  exit 1
fi

pulumi stack select "${STACK}" --create
pulumi up --stack "${STACK}" "$@"
