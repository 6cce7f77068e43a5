//! One error shape for the whole API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medkey_protocol::api::ErrorBody;

use crate::access_requests::{RequestError, RequestStatus};
use crate::connections::ConnectionError;
use crate::gate::Denial;
use crate::identity::{LoginError, MfaError, NonceError, RefreshError, TokenError};
use crate::limits::{LimitError, Throttled};
use crate::records::RecordError;
use crate::release::ReleaseError;
use crate::share_link_admission::AdmissionError;
use crate::share_links::ShareLinkError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds) with 429s.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_secs: None }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// A database error: 503 `database_unavailable` (retry shortly) when the database cannot be
    /// reached or is restarting, else [`ApiError::internal`]. Nothing is decided on a failed read.
    pub fn database(err: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            tracing::warn!(%err, "the database is not answering: 503");
            return Self::unavailable_database();
        }
        Self::internal(err)
    }

    /// 503 `database_unavailable`, with `Retry-After: 1`.
    pub fn unavailable_database() -> Self {
        Self::unavailable("database_unavailable", "the database is not answering; try again shortly")
    }

    /// 503 with `code` and `Retry-After: 1`: a server the vault needs is not answering, and the
    /// same request may be sent again shortly.
    pub fn unavailable(code: &'static str, message: &str) -> Self {
        let mut err = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        err.retry_after_secs = Some(1);
        err
    }

    /// A failure that is ours, not the caller's: logged in full, reported without detail.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(%err, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody::new(self.code, self.message));
        let mut response = (self.status, body).into_response();
        response.extensions_mut().insert(crate::metrics::ErrorCode(self.code));
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<ConnectionError> for ApiError {
    fn from(err: ConnectionError) -> Self {
        let message = err.to_string();
        match err {
            ConnectionError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "connection_too_large", message),
            ConnectionError::TooMany => Self::new(StatusCode::CONFLICT, "too_many_connections", message),
            ConnectionError::Changed => Self::new(StatusCode::CONFLICT, "connection_changed", message),
            ConnectionError::NotFound => Self::not_found(message),
            ConnectionError::Db(err) => Self::database(err),
        }
    }
}

impl From<RecordError> for ApiError {
    fn from(err: RecordError) -> Self {
        let message = err.to_string();
        match err {
            RecordError::NotFound => Self::not_found(message),
            RecordError::Exists => Self::new(StatusCode::CONFLICT, "record_exists", message),
            RecordError::Erased => Self::new(StatusCode::GONE, "record_erased", message),
            RecordError::UnknownResourceType(_) => Self::bad_request("unknown_resource_type", message),
            RecordError::InvalidCiphertext => Self::bad_request("invalid_ciphertext", message),
            RecordError::InvalidWrappedKey(_) => Self::bad_request("invalid_wrapped_key", message),
            RecordError::MissingOwnerKey => Self::bad_request("missing_owner_key", message),
            RecordError::DuplicateRecipient(_) => Self::bad_request("duplicate_recipient", message),
            RecordError::WrappedKeyExists(_) => Self::new(StatusCode::CONFLICT, "wrapped_key_exists", message),
            RecordError::OriginTooLarge => Self::bad_request("origin_too_large", message),
            RecordError::ForeignRecordInSet(_) => Self::bad_request("foreign_record", message),
            RecordError::Database(err) => Self::database(err),
        }
    }
}

impl From<crate::relay::RelayError> for ApiError {
    fn from(err: crate::relay::RelayError) -> Self {
        use crate::relay::RelayError;
        let status = match err {
            RelayError::BadSignature => StatusCode::BAD_REQUEST,
            RelayError::Refused(_) => StatusCode::CONFLICT,
            RelayError::Chain(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, err.code(), err.to_string())
    }
}

impl From<crate::blobs::BlobError> for ApiError {
    fn from(err: crate::blobs::BlobError) -> Self {
        use crate::blobs::BlobError;
        match err {
            BlobError::TooLarge { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "attachment_too_large", err.to_string())
            }
            BlobError::Body(_) => Self::bad_request("upload_interrupted", err.to_string()),
            BlobError::NotAStream => Self::bad_request("invalid_ciphertext", err.to_string()),
            BlobError::NotFound => Self::not_found(err.to_string()),
            // The store did not answer (down, unreachable, timed out): 503, retry shortly. Any
            // other storage error (a bad path, a refused credential) is ours: 500.
            BlobError::Storage(object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }) => {
                tracing::warn!(%err, "the blob store is not answering: 503");
                Self::unavailable("blobs_unavailable", "attachment storage is not answering; try again shortly")
            }
            BlobError::Storage(_) => Self::internal(err),
        }
    }
}

impl From<crate::attachments::AttachmentError> for ApiError {
    fn from(err: crate::attachments::AttachmentError) -> Self {
        match err {
            crate::attachments::AttachmentError::Exists => {
                Self::new(StatusCode::CONFLICT, "attachment_exists", err.to_string())
            }
            crate::attachments::AttachmentError::Erased => {
                Self::new(StatusCode::GONE, "record_erased", "the record was erased; the upload was not kept")
            }
            crate::attachments::AttachmentError::Database(err) => Self::database(err),
        }
    }
}

impl From<MfaError> for ApiError {
    fn from(err: MfaError) -> Self {
        let (code, message) = (err.code(), err.to_string());
        match err {
            MfaError::AlreadyEnabled | MfaError::NotStarted | MfaError::NotEnabled => {
                Self::new(StatusCode::CONFLICT, code, message)
            }
            MfaError::InvalidCode => Self::unauthorized(code, message),
            MfaError::Database(err) => Self::database(err),
            MfaError::SealBroken => Self::internal(err),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::Database(err) => Self::database(err),
            LoginError::NoncesUnavailable(err) => Self::from(NonceError::Unavailable(err)),
            LoginError::Mfa(MfaError::NotEnabled) => Self::bad_request("mfa_not_enabled", err.to_string()),
            LoginError::Mfa(err) => Self::from(err),
            LoginError::Malformed(_) | LoginError::MalformedSignature => Self::bad_request(err.code(), err.to_string()),
            _ => Self::unauthorized(err.code(), err.to_string()),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(err: RefreshError) -> Self {
        match err {
            RefreshError::Database(err) => Self::database(err),
            RefreshError::Invalid => Self::unauthorized("invalid_refresh_token", err.to_string()),
            RefreshError::Reused => Self::unauthorized("refresh_token_reused", err.to_string()),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Expired => Self::unauthorized("token_expired", err.to_string()),
            TokenError::Invalid => Self::unauthorized("invalid_token", err.to_string()),
        }
    }
}

impl From<&Denial> for ApiError {
    fn from(denial: &Denial) -> Self {
        let status = if denial.is_unavailable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::FORBIDDEN };
        Self::new(status, denial.code(), denial.to_string())
    }
}

impl From<Throttled> for ApiError {
    fn from(throttled: Throttled) -> Self {
        let (code, message, wait) = match throttled {
            Throttled::RateLimited { retry_after } => ("rate_limited", "too many requests; slow down", retry_after),
            Throttled::LockedOut { retry_after } => {
                ("locked_out", "too many failed sign-ins from this address and network; try again later", retry_after)
            }
        };
        let mut err = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        err.retry_after_secs = Some(wait.as_secs().max(1));
        err
    }
}

/// With Redis configured and unreachable, nothing is let through unchecked: 503, and a code that
/// says which shared store failed.
impl From<LimitError> for ApiError {
    fn from(err: LimitError) -> Self {
        match err {
            LimitError::Throttled(throttled) => Self::from(throttled),
            LimitError::TooMany { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", format!("{err}: ask for fewer at once"))
            }
            LimitError::Unavailable(err) => {
                tracing::error!(%err, "rate limits cannot be checked: refusing");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "limits_unavailable",
                    "rate limits cannot be checked right now; try again shortly",
                )
            }
        }
    }
}

impl From<NonceError> for ApiError {
    fn from(err: NonceError) -> Self {
        match err {
            NonceError::Database(err) => Self::database(err),
            NonceError::Unavailable(err) => {
                tracing::error!(%err, "sign-in nonces cannot be issued or checked: refusing");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "nonces_unavailable",
                    "sign-in nonces cannot be issued or checked right now; try again shortly",
                )
            }
        }
    }
}

impl From<crate::release_reads::ReadError> for ApiError {
    fn from(err: crate::release_reads::ReadError) -> Self {
        match err {
            crate::release_reads::ReadError::Unavailable(_) => Self::unavailable_database(),
            _ => Self::internal(err),
        }
    }
}

/// An entry not stored means no answer: a release is never made without its entry.
impl From<crate::audit_log::AppendError> for ApiError {
    fn from(err: crate::audit_log::AppendError) -> Self {
        match err {
            crate::audit_log::AppendError::Unavailable(_) => Self::unavailable_database(),
            _ => Self::internal(err),
        }
    }
}

impl From<crate::directory::CatchUpError> for ApiError {
    fn from(err: crate::directory::CatchUpError) -> Self {
        match err {
            crate::directory::CatchUpError::Mirror(err) => err.into(),
            crate::directory::CatchUpError::Database(err) => err.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::database(err)
    }
}

impl From<medkey_indexer::StoreError> for ApiError {
    fn from(err: medkey_indexer::StoreError) -> Self {
        match err {
            medkey_indexer::StoreError::Database(err) => Self::database(err),
            err => Self::internal(err),
        }
    }
}

/// The codes and statuses every release path answers with (`crate::release`).
impl From<ReleaseError> for ApiError {
    fn from(err: ReleaseError) -> Self {
        use ReleaseError as E;
        match err {
            E::MfaRequired => Self::forbidden("mfa_required", err.to_string()),
            E::NotFound | E::NoAttachment => Self::not_found(err.to_string()),
            E::KeyNotWrapped => Self::new(StatusCode::CONFLICT, "key_not_wrapped", err.to_string()),
            E::Denied(denial) => Self::from(&denial),
            E::Limits(err) => err.into(),
            E::Reads(err) => err.into(),
            E::Mirror(err) => err.into(),
            E::Log(err) => err.into(),
            E::Records(err) => err.into(),
            E::Database(err) => err.into(),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(err: RequestError) -> Self {
        let message = err.to_string();
        match err {
            RequestError::AlreadyPending => Self::new(StatusCode::CONFLICT, "request_pending", message),
            RequestError::NotFound => Self::not_found(message),
            RequestError::NotPending(RequestStatus::Expired) => {
                Self::new(StatusCode::CONFLICT, "request_expired", message)
            }
            RequestError::NotPending(_) => Self::new(StatusCode::CONFLICT, "request_not_pending", message),
            RequestError::Database(err) => Self::internal(err),
        }
    }
}

impl From<ShareLinkError> for ApiError {
    fn from(err: ShareLinkError) -> Self {
        match err {
            ShareLinkError::Exists => Self::new(StatusCode::CONFLICT, "link_exists", err.to_string()),
            ShareLinkError::Database(err) => err.into(),
        }
    }
}

impl From<AdmissionError> for ApiError {
    fn from(err: AdmissionError) -> Self {
        let message = err.to_string();
        match err {
            AdmissionError::InvalidRecipient => Self::bad_request("invalid_request", message),
            AdmissionError::NoSuchLink => Self::new(StatusCode::NOT_FOUND, "no_such_link", message),
            AdmissionError::Inactive(state) => {
                Self::new(StatusCode::NOT_FOUND, crate::share_link_admission::inactive_code(state), message)
            }
            AdmissionError::WrongPasscode { .. } => Self::unauthorized("wrong_passcode", message),
            AdmissionError::NotDirect => Self::bad_request("not_direct", message),
            AdmissionError::Limits(err) => err.into(),
            AdmissionError::Database(err) => err.into(),
            AdmissionError::Log(err) => err.into(),
            AdmissionError::Passcode(err) => Self::internal(err),
        }
    }
}
