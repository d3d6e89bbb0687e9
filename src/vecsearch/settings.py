"""Configuration: the one module that reads the environment (prefix VECSEARCH_), read once."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# API Gateway HTTP APIs accept 10 MB, but a synchronous Lambda invoke carries at most 6 MB.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024


class Settings(BaseSettings):
    """Everything the handlers need to build the core's collaborators."""

    model_config = SettingsConfigDict(env_prefix="VECSEARCH_", frozen=True, extra="ignore")

    store_url: str = Field(
        description="file:///abs/dir for the local store, s3://bucket/prefix for S3"
    )
    admin_token: SecretStr | None = None
    refresh_seconds: Annotated[float, Field(ge=0)] = 30.0
    job_runner: Literal["lambda", "thread"] = "lambda"
    worker_function: str | None = None
    lambda_endpoint_url: str | None = None
    max_body_bytes: Annotated[int, Field(ge=1024)] = DEFAULT_MAX_BODY_BYTES

    @field_validator("store_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("file:///", "s3://")):
            raise ValueError("store_url must start with file:/// or s3://")
        return url

    @field_validator("admin_token", "worker_function", "lambda_endpoint_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # serverless.yml writes unset variables as empty strings
        return None if value == "" else value


@cache
def settings() -> Settings:
    """The container's settings, read from the environment on first use."""
    return Settings()
