# Sourced by build_layers.sh and deploy.sh (from the repository root).
# find_python313 prints a python3.13 that has the project's dev requirements: the project's .venv
# first, then python3.13 on PATH, then pyenv's real path (its shim may not resolve).
find_python313() {
    local candidate
    for candidate in .venv/bin/python python3.13 \
        "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.13*/bin/python3.13; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys, elftools, pydantic, packaging; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
