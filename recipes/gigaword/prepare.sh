#!/usr/bin/env bash
# Gigaword: convert the dataset and binarize it for fairseq.
# Options and environment variables: recipes/common.sh and README.md here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common.sh"
. "$here/config.sh"
recipe_prepare "$@"
