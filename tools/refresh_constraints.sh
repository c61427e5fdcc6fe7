#!/usr/bin/env bash
# Re-resolves the project's dependencies from scratch and rewrites
# constraints.txt with the exact versions pip picked today.
#
# Usage (from the repository root):  tools/refresh_constraints.sh
# Then run the README's test command, and commit constraints.txt only if the
# tests pass. setup.py keeps loose requirements for library users; the
# constraints file pins what the README commands and CI install.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -e ".[test,serving,eval,tfds]"
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps "tensorflow-serving-api==2.21.*"
{
  echo "# Exact versions for the README commands and CI (pip install -c constraints.txt ...)."
  echo "# Regenerate with tools/refresh_constraints.sh; resolved on $(date -u +%Y-%m-%d) with $("$venv/bin/python" --version)."
  "$venv/bin/pip" freeze --exclude-editable --disable-pip-version-check
} > constraints.txt
rm -rf "$(dirname "$venv")"
echo "wrote constraints.txt"
