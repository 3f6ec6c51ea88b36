#!/usr/bin/env bash
# ACLSum CPU demo: score the decoded test sets and write report.md and report.json.
# Options and environment variables: recipes/common.sh and README.md here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common.sh"
. "$here/config.sh"
recipe_evaluate "$@"
