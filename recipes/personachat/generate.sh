#!/usr/bin/env bash
# PersonaChat (ConvAI2): decode the test set with each trained system.
# Options and environment variables: recipes/common.sh and README.md here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common.sh"
. "$here/config.sh"
recipe_generate "$@"
