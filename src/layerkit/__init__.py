"""Build, slim, pack, verify and emulate AWS Lambda layers for python3.13 (arm64 and x86_64)."""
