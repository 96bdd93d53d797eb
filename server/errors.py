"""Every error a client can see: one exception tree, one stable code each.

    KefuError (code, message, status)
    ├── BadRequest        400  bad_request, invalid_frame, invalid_json, text_too_long, ...
    ├── Unauthorized      401  unauthorized, token_expired, invalid_credentials
    ├── Forbidden         403  forbidden, origin_not_allowed, identity_invalid
    ├── NotFound          404  not_found, conversation_not_found
    ├── Conflict          409  conflict, conversation_closed
    ├── RateLimited       429  rate_limited
    └── Unavailable       503  store_unavailable (retryable)

REST turns them into `{"error": {"code", "message"}}` with the status; the gateway into an
`error {id, code, message}` frame. The codes are the contract; messages are for people.
"""

from __future__ import annotations


class KefuError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def retryable(self) -> bool:
        return self.status in (429, 503)


class BadRequest(KefuError):
    status = 400
    code = "bad_request"


class Unauthorized(KefuError):
    status = 401
    code = "unauthorized"


class Forbidden(KefuError):
    status = 403
    code = "forbidden"


class NotFound(KefuError):
    status = 404
    code = "not_found"


class Conflict(KefuError):
    status = 409
    code = "conflict"


class RateLimited(KefuError):
    status = 429
    code = "rate_limited"


class Unavailable(KefuError):
    status = 503
    code = "store_unavailable"
