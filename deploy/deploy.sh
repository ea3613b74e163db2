#!/usr/bin/env bash
# Deploys an image to the ECS service: registers a new task definition revision, updates the
# service, waits for it to become stable and, if it does not, rolls back to the previous revision.
#   deploy/deploy.sh --env development [--image-tag TAG] [--region us-east-1]
#                    [--dry-run [--simulate-failure]] [--render]
# --dry-run prints every aws command instead of running it; with --simulate-failure the wait
# "fails" so the rollback path is printed too. --render prints the task definition and exits.
# Settings per environment come from the environment: CHAIN_ID, NETWORK_NAME, CONFIRMATION_BLOCKS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ACCOUNT_ID="${AWS_ACCOUNT_ID:-932100697590}"
REGION="${AWS_REGION:-us-east-1}"
REPOSITORY="hokusai/contracts"
ENVIRONMENT=""
IMAGE_TAG=""
DRY_RUN=0
SIMULATE_FAILURE=0
RENDER_ONLY=0

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --env) ENVIRONMENT="${2:?--env needs a value}"; shift ;;
    --image-tag) IMAGE_TAG="${2:?--image-tag needs a value}"; shift ;;
    --region) REGION="${2:?--region needs a value}"; shift ;;
    --dry-run) DRY_RUN=1 ;;
    --simulate-failure) SIMULATE_FAILURE=1 ;;
    --render) RENDER_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage; exit 2 ;;
  esac
  shift
done

if ! [[ "$ENVIRONMENT" =~ ^[a-z][a-z0-9-]{1,30}$ ]]; then
  echo "--env is required (e.g. development, staging, production)" >&2
  exit 2
fi
if [ "$SIMULATE_FAILURE" -eq 1 ] && [ "$DRY_RUN" -eq 0 ]; then
  echo "--simulate-failure only makes sense with --dry-run" >&2
  exit 2
fi

IMAGE_TAG="${IMAGE_TAG:-$(git rev-parse --short=12 HEAD)}"
CLUSTER="hokusai-${ENVIRONMENT}"
SERVICE="hokusai-contracts-${ENVIRONMENT}"
FAMILY="hokusai-contracts-${ENVIRONMENT}"
IMAGE="${ACCOUNT_ID}.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY}:${IMAGE_TAG}"
CHAIN_ID="${CHAIN_ID:-137}"
NETWORK_NAME="${NETWORK_NAME:-polygon}"
CONFIRMATION_BLOCKS="${CONFIRMATION_BLOCKS:-2}"

for value in "$CHAIN_ID" "$CONFIRMATION_BLOCKS"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "CHAIN_ID and CONFIRMATION_BLOCKS must be numbers" >&2; exit 2; }
done
[[ "$NETWORK_NAME" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "NETWORK_NAME must be a plain name" >&2; exit 2; }
[[ "$IMAGE_TAG" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "--image-tag must be a plain tag" >&2; exit 2; }

render() {
  sed -e "s|{{ENV}}|${ENVIRONMENT}|g" \
      -e "s|{{ACCOUNT_ID}}|${ACCOUNT_ID}|g" \
      -e "s|{{REGION}}|${REGION}|g" \
      -e "s|{{IMAGE}}|${IMAGE}|g" \
      -e "s|{{CHAIN_ID}}|${CHAIN_ID}|g" \
      -e "s|{{NETWORK_NAME}}|${NETWORK_NAME}|g" \
      -e "s|{{CONFIRMATION_BLOCKS}}|${CONFIRMATION_BLOCKS}|g" \
      deploy/ecs/task-definition.json
}

if [ "$RENDER_ONLY" -eq 1 ]; then
  render
  exit 0
fi

TASK_DEF_FILE="$(mktemp "${TMPDIR:-/tmp}/task-definition.XXXXXX.json")"
trap 'rm -f "$TASK_DEF_FILE"' EXIT
render > "$TASK_DEF_FILE"

# Prints a command shell-quoted and runs it unless dry-running; in a dry run it echoes $DRY_OUTPUT.
DRY_OUTPUT=""
run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [ "$DRY_RUN" -eq 0 ]; then "$@"; else printf '%s' "$DRY_OUTPUT"; fi
}

# Waits for the service to settle; a simulated failure makes the dry run take the rollback path.
wait_stable() {
  if [ "$DRY_RUN" -eq 1 ]; then
    run aws ecs wait services-stable --region "$REGION" --cluster "$CLUSTER" --services "$SERVICE"
    [ "$SIMULATE_FAILURE" -eq 0 ]
  else
    aws ecs wait services-stable --region "$REGION" --cluster "$CLUSTER" --services "$SERVICE"
  fi
}

DRY_OUTPUT="arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/${FAMILY}:41"
PREVIOUS="$(run aws ecs describe-services --region "$REGION" --cluster "$CLUSTER" --services "$SERVICE" \
  --query 'services[0].taskDefinition' --output text)"
if [ -z "$PREVIOUS" ] || [ "$PREVIOUS" = "None" ]; then
  echo "service $SERVICE not found in cluster $CLUSTER" >&2
  exit 1
fi

DRY_OUTPUT="arn:aws:ecs:${REGION}:${ACCOUNT_ID}:task-definition/${FAMILY}:42"
NEW="$(run aws ecs register-task-definition --region "$REGION" --cli-input-json "file://${TASK_DEF_FILE}" \
  --query 'taskDefinition.taskDefinitionArn' --output text)"
DRY_OUTPUT=""
echo "previous: $PREVIOUS" >&2
echo "new:      $NEW" >&2

run aws ecs update-service --region "$REGION" --cluster "$CLUSTER" --service "$SERVICE" \
  --task-definition "$NEW" --force-new-deployment --output text --query 'service.serviceName' >/dev/null

if wait_stable; then
  echo "deployed $IMAGE as $NEW" >&2
  exit 0
fi

echo "service did not become stable; rolling back to $PREVIOUS" >&2
run aws ecs update-service --region "$REGION" --cluster "$CLUSTER" --service "$SERVICE" \
  --task-definition "$PREVIOUS" --force-new-deployment --output text --query 'service.serviceName' >/dev/null
SIMULATE_FAILURE=0
if wait_stable; then
  echo "rolled back to $PREVIOUS" >&2
else
  echo "rollback to $PREVIOUS did not become stable either: intervene manually" >&2
fi
exit 1
