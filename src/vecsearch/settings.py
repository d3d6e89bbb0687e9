"""Configuration: the one module that reads the environment (prefix VECSEARCH_), read once."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vecsearch.core.errors import ConfigurationError

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
    # serverless-offline sets IS_OFFLINE=true for the handlers it runs; there any caller can forge
    # the IAM authorizer context, so the admin API must rely on its bearer token alone.
    is_offline: bool = Field(default=False, validation_alias="IS_OFFLINE")

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


def _variable(location: str) -> str:
    """The environment variable behind a field (aliased fields are reported by their alias)."""
    return location if location.isupper() else f"VECSEARCH_{location.upper()}"


@cache
def settings() -> Settings:
    """The container's settings, read from the environment once; ConfigurationError if invalid."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{_variable(str(item['loc'][0]))}: {item['msg']}" if item["loc"] else item["msg"]
            for item in error.errors()
        )
        raise ConfigurationError(f"the service is misconfigured: {problems}") from None
