#!/usr/bin/env bash
# Build, slim, verify and zip the Lambda layers: ./build_layers.sh [--arch arm64|x86_64]
# [--builder pip|docker] [--force] [--no-verify] [--no-emulate] [--clean] [LAYER...]
# This script only finds python3.13 and hands over to the project's CLI (python -m layerkit).
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
    echo "build_layers.sh: need python3.13 with pyelftools, pydantic and packaging (run 'make setup')" >&2
    exit 1
fi

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# --clean may come anywhere: it cleans first, then builds only the layers named (if any)
exec "$python" -m layerkit build "$@"
