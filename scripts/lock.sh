#!/usr/bin/env sh
# Refreshes requirements.lock: the exact versions (and hashes) of the runtime dependencies that the Docker image
# installs, for CPython 3.11 on x86_64 Linux (the image's platform), resolved from pyproject.toml's ranges, plus
# setuptools to build the package itself without fetching anything else. Needs uv (`pip install uv`).
# Run it after changing pyproject.toml's dependencies (it keeps the other pins); `scripts/lock.sh --upgrade` takes the
# newest releases that the ranges allow. Commit the result.
set -eu
cd "$(dirname "$0")/.."
echo "setuptools>=69" | uv pip compile pyproject.toml - \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
  --custom-compile-command "scripts/lock.sh" -o requirements.lock "$@"
