#!/usr/bin/env bash
# The Pulumi CLI on this project's stack, as `make deploy` runs it: the local state backend (~/.pulumi) unless
# PULUMI_BACKEND_URL says otherwise. Used by `make outputs` and `make destroy`; AGAIN names the make target.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/require-pulumi.sh
source scripts/require-pulumi.sh
require_pulumi "${AGAIN:-make}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://~}"
exec pulumi "$@"
