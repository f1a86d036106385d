//! SDK errors into our terms: an `Unavailable` fact for the checks, or, for the
//! few failures that make the whole run pointless, one sentence for the user.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use rotation_doctor_checks::{ErrorKind, Unavailable};

/// Longest service message kept in a fact; some SDK error chains are long.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a request never got a service answer. These decide the fatal errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// The credential chain found nothing (or failed to load) before sending.
    NoCredentials,
    /// The service answered that the signature or keys are not valid.
    BadCredentials,
    /// Connection refused, DNS failure, TLS failure...
    Unreachable,
    Timeout,
}

/// A failed call, classified.
#[derive(Clone, Debug)]
pub(crate) struct CallFailure {
    pub call: &'static str,
    pub kind: ErrorKind,
    /// The service's message, or the SDK's error chain when there is none.
    pub message: String,
    /// The innermost cause, for transport failures ("Connection refused").
    pub root_cause: String,
    pub transport: Option<Transport>,
}

impl CallFailure {
    pub fn from_sdk<E>(call: &'static str, err: &SdkError<E, HttpResponse>) -> CallFailure
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let causes = causes(err);
        let chain = causes.join(": ");
        let (kind, transport, status) = match err {
            SdkError::TimeoutError(_) => (ErrorKind::Timeout, Some(Transport::Timeout), None),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => {
                (ErrorKind::Timeout, Some(Transport::Timeout), None)
            }
            SdkError::DispatchFailure(failure) if failure.is_io() => {
                (ErrorKind::Other, Some(Transport::Unreachable), None)
            }
            SdkError::DispatchFailure(_) if mentions_credentials(&chain) => {
                // Identity resolution runs just before transmit, so a missing
                // credential surfaces as a dispatch failure with no response.
                (ErrorKind::Other, Some(Transport::NoCredentials), None)
            }
            SdkError::DispatchFailure(_) => (ErrorKind::Other, Some(Transport::Unreachable), None),
            SdkError::ResponseError(response) => {
                let status = response.raw().status().as_u16();
                (kind_from_status(status), None, Some(status))
            }
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let kind = match err.code() {
                    Some(code) => kind_from_code(code),
                    None => kind_from_status(status),
                };
                let transport = err
                    .code()
                    .filter(|code| is_bad_credentials(code))
                    .map(|_| Transport::BadCredentials);
                (kind, transport, Some(status))
            }
            _ => (ErrorKind::Other, None, None),
        };

        let message = match (err.code(), err.message()) {
            (Some(code), Some(message)) if !message.is_empty() => format!("{code}: {message}"),
            (Some(code), _) => code.to_string(),
            // moto answers some calls with an HTML page or an XML body the
            // JSON deserializer cannot read (docs/moto-notes.md, "Errors and
            // unimplemented calls"): say so with the status instead of the
            // parser's complaint.
            (None, _) => match (err, status) {
                (SdkError::ServiceError(_), Some(status)) => {
                    format!("HTTP {status} with an unreadable error body")
                }
                // A success body that did not parse: the parser's reason helps.
                (_, Some(status)) => format!("HTTP {status} with an unreadable body: {chain}"),
                (_, None) => chain,
            },
        };
        CallFailure {
            call,
            kind,
            message: truncate_chars(&message, MAX_MESSAGE_CHARS),
            root_cause: truncate_chars(
                causes.last().map(String::as_str).unwrap_or_default(),
                MAX_MESSAGE_CHARS,
            ),
            transport,
        }
    }

    pub fn unavailable(&self) -> Unavailable {
        Unavailable {
            call: self.call.to_string(),
            kind: self.kind,
            message: self.message.clone(),
        }
    }
}

/// Shorthand: the `Unavailable` fact for a failed call.
pub(crate) fn unavailable<E>(call: &'static str, err: &SdkError<E, HttpResponse>) -> Unavailable
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    CallFailure::from_sdk(call, err).unavailable()
}

/// An `Unavailable` of our own making (for example "nothing matched").
pub(crate) fn not_found(call: &str, message: impl Into<String>) -> Unavailable {
    Unavailable {
        call: call.to_string(),
        kind: ErrorKind::NotFound,
        message: message.into(),
    }
}

fn kind_from_code(code: &str) -> ErrorKind {
    if code.starts_with("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "AuthorizationError"
        || is_bad_credentials(code)
    {
        ErrorKind::AccessDenied
    } else if code.contains("NotFound") || code == "NoSuchEntity" {
        // ResourceNotFoundException, DBInstanceNotFound(Fault),
        // InvalidSubnetID.NotFound, InvalidGroup.NotFound...
        ErrorKind::NotFound
    } else if code.starts_with("Throttl")
        || code.starts_with("TooManyRequests")
        || code == "RequestLimitExceeded"
        || code == "RequestThrottled"
        || code == "SlowDown"
    {
        ErrorKind::Throttled
    } else if code == "RequestTimeout" || code == "RequestTimeoutException" {
        ErrorKind::Timeout
    } else {
        ErrorKind::Other
    }
}

/// For errors without a readable code (a 403 whose XML body the JSON
/// services cannot parse: docs/moto-notes.md, "Errors and unimplemented
/// calls").
fn kind_from_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::AccessDenied,
        429 => ErrorKind::Throttled,
        408 | 504 => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

fn is_bad_credentials(code: &str) -> bool {
    matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "AuthFailure"
            | "InvalidAccessKeyId"
    )
}

/// The error and its sources, one line each (DisplayErrorContext would add
/// a Debug dump, and the credential chain's error spans several lines).
fn causes(err: &(dyn StdError + 'static)) -> Vec<String> {
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(current) = next {
        let text = current.to_string();
        let line = text.lines().next().unwrap_or_default().trim().to_string();
        // Wrappers often repeat their source's text; keep each once.
        if !line.is_empty() && !causes.iter().any(|seen| seen.contains(&line)) {
            causes.push(line);
        }
        next = current.source();
    }
    causes
}

fn mentions_credentials(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("identity")
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(
            kind_from_code("AccessDeniedException"),
            ErrorKind::AccessDenied
        );
        assert_eq!(kind_from_code("AccessDenied"), ErrorKind::AccessDenied);
        assert_eq!(
            kind_from_code("UnauthorizedOperation"),
            ErrorKind::AccessDenied
        );
        assert_eq!(
            kind_from_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(kind_from_code("DBInstanceNotFound"), ErrorKind::NotFound);
        assert_eq!(
            kind_from_code("InvalidSubnetID.NotFound"),
            ErrorKind::NotFound
        );
        assert_eq!(kind_from_code("ThrottlingException"), ErrorKind::Throttled);
        assert_eq!(kind_from_code("Throttling"), ErrorKind::Throttled);
        assert_eq!(
            kind_from_code("TooManyRequestsException"),
            ErrorKind::Throttled
        );
        assert_eq!(kind_from_code("RequestLimitExceeded"), ErrorKind::Throttled);
        assert_eq!(kind_from_code("InvalidRequestException"), ErrorKind::Other);
        assert_eq!(kind_from_status(403), ErrorKind::AccessDenied);
        assert_eq!(kind_from_status(500), ErrorKind::Other);
    }

    #[test]
    fn truncation_respects_chars() {
        assert_eq!(truncate_chars("abc", 5), "abc");
        assert_eq!(truncate_chars("ééééé", 2), "éé…");
    }
}
