"""Domain errors. Each has a stable machine-readable code and the HTTP status it maps to."""


class VecsearchError(Exception):
    """Base of every error the API reports to callers."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(VecsearchError):
    """The request is well-formed JSON but breaks a rule the models cannot express alone."""

    code = "invalid_request"
    status = 422


class DimensionMismatch(InvalidRequest):
    """A vector's length differs from the collection's dimension."""

    code = "dimension_mismatch"


class InvalidVector(InvalidRequest):
    """A vector holds NaN, Infinity or a non-numeric component."""

    code = "invalid_vector"


class PayloadTooLarge(VecsearchError):
    """A batch or body exceeds the configured limit."""

    code = "payload_too_large"
    status = 413


class ResponseTooLarge(VecsearchError):
    """The answer would exceed what Lambda can return from one synchronous invoke."""

    code = "response_too_large"
    status = 422


class UnsupportedMediaType(VecsearchError):
    """A request body declared as something other than JSON."""

    code = "unsupported_media_type"
    status = 415


class CollectionNotFound(VecsearchError):
    code = "collection_not_found"
    status = 404


class CollectionExists(VecsearchError):
    code = "collection_exists"
    status = 409


class VersionNotFound(VecsearchError):
    code = "version_not_found"
    status = 404


class BatchNotFound(VecsearchError):
    """No pending batch with that id (never written, or already indexed or discarded)."""

    code = "batch_not_found"
    status = 404


class JobNotFound(VecsearchError):
    code = "job_not_found"
    status = 404


class JobStale(VecsearchError):
    """A job's worker stopped reporting long ago without promoting (recorded, not raised)."""

    code = "job_stale"
    status = 500


class JobLost(VecsearchError):
    """A queued job was never started: its worker event was dropped (recorded, not raised)."""

    code = "job_lost"
    status = 500


class ReindexInProgress(VecsearchError):
    """Another reindex of the collection is queued or running."""

    code = "reindex_in_progress"
    status = 409


class ImportSourceInvalid(VecsearchError):
    """Bulk-import files are missing, unreadable, or disagree with the collection."""

    code = "import_source_invalid"
    status = 422


class NoLiveVersion(VecsearchError):
    """The collection exists but has never been indexed."""

    code = "no_live_version"
    status = 409


class ConcurrentUpdate(VecsearchError):
    """A conditional write lost a race (for example two promotions at once)."""

    code = "concurrent_update"
    status = 409


class VersionCorrupt(VecsearchError):
    """A stored version fails manifest verification; it is never served."""

    code = "version_corrupt"
    status = 500


class StoredDataCorrupt(VecsearchError):
    """A small stored record (collection record, pointer, job record) cannot be read back."""

    code = "stored_data_corrupt"
    status = 500


class StorageError(VecsearchError):
    """The store failed (I/O error, throttling, permissions)."""

    code = "storage_error"
    status = 503


class InvalidJson(VecsearchError):
    """The request body is not valid JSON (or not decodable text)."""

    code = "invalid_json"
    status = 400


class Unauthenticated(VecsearchError):
    """The request carries no credentials the API accepts."""

    code = "unauthenticated"
    status = 401


class Forbidden(VecsearchError):
    """The request carries credentials, but the wrong ones."""

    code = "forbidden"
    status = 403


class RouteNotFound(VecsearchError):
    """No route matches the request's method and path."""

    code = "route_not_found"
    status = 404


class MethodNotAllowed(VecsearchError):
    """The path exists, but not for the request's method."""

    code = "method_not_allowed"
    status = 405


class JobSubmitFailed(VecsearchError):
    """The job was recorded but the worker could not be started."""

    code = "job_submit_failed"
    status = 503


class ConfigurationError(VecsearchError):
    """The service is deployed or started with settings it cannot run with."""

    code = "configuration_error"
    status = 500
