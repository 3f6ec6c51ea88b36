#!/usr/bin/env bash
# CNN/DailyMail: train with AMI, starting from the baseline's best checkpoint.
# Options and environment variables: recipes/common.sh and README.md here.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../common.sh"
. "$here/config.sh"
recipe_train_ami "$@"
