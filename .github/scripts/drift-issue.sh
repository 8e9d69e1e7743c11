#!/usr/bin/env bash
# Keeps one GitHub issue per stack for drift: opens it (label "drift") or replaces its body when
# drift is found, closes it with a comment when a later run finds none. Needs the gh CLI and GH_TOKEN
# with issues: write (the workflow's github.token).
#   bash .github/scripts/drift-issue.sh <stack> <body.md> <true|false>
set -euo pipefail
stack="${1:?usage: drift-issue.sh <stack> <body.md> <true|false>}"
body="${2:?body file}"
drift="${3:?true or false}"
label="drift"
title="Drift on ${stack}: what runs differs from the code"

number="$(gh issue list --state open --label "$label" --limit 100 --json number,title \
  --jq ".[] | select(.title == \"${title}\") | .number" | head -n 1)"

if [ "$drift" = "true" ]; then
  gh label create "$label" --color D93F0B --description "What runs differs from the code (drift workflow)" --force >/dev/null
  if [ -n "$number" ]; then
    gh issue edit "$number" --body-file "$body"
    echo "updated issue #$number"
  else
    gh issue create --title "$title" --label "$label" --body-file "$body"
  fi
elif [ -n "$number" ]; then
  gh issue close "$number" --comment "No drift on \`${stack}\` at $(date -u +%Y-%m-%dT%H:%M:%SZ): closing."
  echo "closed issue #$number"
else
  echo "no drift on $stack"
fi
