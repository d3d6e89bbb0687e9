#!/usr/bin/env bash
# Deploy the layers and services: ./deploy.sh [layers|admin|search|all] [--stage S] [--region R]
# [--dry-run] [--builder pip|docker] [--no-emulate]
# This script only finds python3.13 and hands over to the project's CLI (python -m layerkit.deploy),
# which checks prerequisites, builds and verifies, then deploys through Compose (README.md, Deploying).
set -euo pipefail
cd "$(dirname "$0")"

python=""
for candidate in .venv/bin/python python3.13 \
    "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.13*/bin/python3.13; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys, elftools, pydantic, packaging; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [[ -z "$python" ]]; then
    echo "deploy.sh: need python3.13 with the dev requirements (run 'make setup')" >&2
    exit 1
fi

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m layerkit.deploy --root "$PWD" "$@"
