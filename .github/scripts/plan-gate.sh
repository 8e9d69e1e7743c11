#!/usr/bin/env bash
# The offline plan of one stack before its deploy: writes the capacity table to the job summary
# ($GITHUB_STEP_SUMMARY, or stdout outside Actions), prints the full plan to the log, and exits 1
# when the plan has errors (npm run plan's own exit code), which stops the deploy.
#   bash .github/scripts/plan-gate.sh <stack>
set -uo pipefail
stack="${1:?usage: plan-gate.sh <stack>}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
json="$(mktemp)"
trap 'rm -f "$json"' EXIT

npm run -s plan -- --stack "$stack" --json >"$json"
status=$?
if ! npx ts-node .github/scripts/capacity-summary.ts "$json" >>"$summary"; then
  echo "capacity-summary could not read the plan of $stack (exit $status from npm run plan)" >>"$summary"
fi
npm run -s plan -- --stack "$stack" || true
if [ "$status" -ne 0 ]; then
  echo "::error title=Plan of $stack has errors::npm run plan -- --stack $stack exited $status; nothing was deployed"
fi
exit "$status"
