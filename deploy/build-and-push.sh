#!/usr/bin/env bash
# Builds the service image and pushes it to ECR tagged with the git sha, the version and latest.
#   deploy/build-and-push.sh [--dry-run] [--version X.Y.Z] [--region us-east-1]
# --dry-run prints every docker/aws command instead of running it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ACCOUNT_ID="${AWS_ACCOUNT_ID:-932100697590}"
REGION="${AWS_REGION:-us-east-1}"
REPOSITORY="hokusai/contracts"
DRY_RUN=0
VERSION=""

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --version) VERSION="${2:?--version needs a value}"; shift ;;
    --region) REGION="${2:?--region needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
  shift
done

# Prints a command shell-quoted (on stderr, like the tools' own progress); runs it unless dry-running.
run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}

if [ -z "$VERSION" ]; then
  # <Version>, or <VersionPrefix> where packages add a suffix at pack time.
  VERSION="$(sed -n -e 's:.*<Version>\(.*\)</Version>.*:\1:p' -e 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props | head -n 1)"
fi
if ! [[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]]; then
  echo "version '$VERSION' is not a semantic version" >&2
  exit 2
fi

SHA="$(git rev-parse --short=12 HEAD)"
REGISTRY="${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com"
IMAGE="${REGISTRY}/${REPOSITORY}"

run docker build --pull --label "org.opencontainers.image.revision=${SHA}" \
  --label "org.opencontainers.image.version=${VERSION}" -t "contracts-api:${SHA}" .
for tag in "$SHA" "$VERSION" latest; do
  run docker tag "contracts-api:${SHA}" "${IMAGE}:${tag}"
done

# The password goes through a pipe, never a command line or a file.
printf '+ aws ecr get-login-password --region %q | docker login --username AWS --password-stdin %q\n' "$REGION" "$REGISTRY" >&2
if [ "$DRY_RUN" -eq 0 ]; then
  aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
fi

for tag in "$SHA" "$VERSION" latest; do
  run docker push "${IMAGE}:${tag}"
done

echo "image: ${IMAGE}:${SHA}"
