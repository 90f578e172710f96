# Sourced by the scripts that run the Pulumi CLI (deploy.sh, pulumi.sh): the same help when it is missing, and the
# oldest version this stack works with. `require_pulumi "make deploy"` names the command to run again.

# A switch of endpoint type replaces the endpoint through the `replacementTrigger` resource option: the engine
# supports it from 3.208.0, and before 3.226.0 it could replace an endpoint whose trigger had not changed.
MIN_PULUMI_VERSION=3.226.0

require_pulumi() {
  local again="$1"
  if ! command -v pulumi >/dev/null 2>&1; then
    cat >&2 <<MSG
error: the Pulumi CLI is not installed, so this machine cannot deploy or read a stack.

Install it, open a new shell, and run \`${again}\` again:
  Linux/macOS:  curl -fsSL https://get.pulumi.com | sh
  macOS:        brew install pulumi/tap/pulumi
  Windows:      winget install pulumi
  Details:      https://www.pulumi.com/docs/iac/download-install/

You also need AWS credentials (\`aws configure\`, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
The tests need neither: \`make test\` runs everything offline.
MSG
    exit 127
  fi
  local version
  version="$(pulumi version 2>/dev/null | sed 's/^v//')"
  if ! printf '%s\n%s\n' "${MIN_PULUMI_VERSION}" "${version:-0}" | sort -V -C; then
    echo "error: Pulumi CLI ${version:-(version unknown)} is too old for this stack: it needs ${MIN_PULUMI_VERSION}" \
         "or newer (run \`pulumi self-update\` or reinstall from https://www.pulumi.com/docs/iac/download-install/)" >&2
    exit 1
  fi
}
