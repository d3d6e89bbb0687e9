"""Vector similarity search on AWS Lambda: core logic, storage and HTTP adapters."""
