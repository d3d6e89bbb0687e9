#!/usr/bin/env bash
# Deploy the layers and services: ./deploy.sh [layers|admin|search|all] [--stage S] [--region R]
# [--dry-run] [--builder pip|docker] [--no-emulate]
# This script only finds python3.13 and hands over to the project's CLI (python -m layerkit.deploy),
# which checks prerequisites, builds and verifies, then deploys through Compose (README.md, Deploying).
set -euo pipefail
cd "$(dirname "$0")"

source scripts/python313.sh
python=$(find_python313) || {
    echo "deploy.sh: need python3.13 with the dev requirements (run 'make setup')" >&2
    exit 1
}

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m layerkit.deploy --root "$PWD" "$@"
