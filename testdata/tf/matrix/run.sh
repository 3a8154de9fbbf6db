#!/usr/bin/env bash
# The one command that runs the model matrix (see run.py for the options):
#   bash testdata/tf/matrix/run.sh                 # every cell, every TF version
#   bash testdata/tf/matrix/run.sh --versions 2.18 # one version
#   bash testdata/tf/matrix/run.sh --sample ci     # what CI runs
# It runs run.py with the repository's TF 2.18 venv (testdata/tf/setup.sh),
# whose numpy the output comparison uses; run.py creates the other venvs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="$(bash "$here/../setup.sh" | tail -n 1)"
cd "$here/../../.."
exec nice "$py" "$here/run.py" "$@"
