#!/usr/bin/env bash
# Build, slim, verify and zip the Lambda layers: ./build_layers.sh [--arch arm64|x86_64]
# [--builder pip|docker] [--force] [--no-verify] [--no-emulate] [--clean] [LAYER...]
# This script only finds python3.13 and hands over to the project's CLI (python -m layerkit).
set -euo pipefail
cd "$(dirname "$0")"

source scripts/python313.sh
python=$(find_python313) || {
    echo "build_layers.sh: need python3.13 with pyelftools, pydantic and packaging (run 'make setup')" >&2
    exit 1
}

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# --clean may come anywhere: it cleans first, then builds only the layers named (if any)
exec "$python" -m layerkit build "$@"
