//! Answers, in the shapes AWS documents, to the two calls moto does not
//! implement (it answers HTTP 500; docs/moto-notes.md):
//! `iam:SimulatePrincipalPolicy` (awsQuery: a form-encoded request, an XML
//! answer) and `cloudtrail:LookupEvents` (awsJson1_1). A test serves them
//! through `Proxy::answering` while moto serves every other call, so the
//! binary reads them as it would read AWS. Only documented fields are used:
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html>
//! (with `EvaluationResult` and `ResourceSpecificResult`) and
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>.

use chrono::{DateTime, Utc};
use rotation_doctor_checks::policy::decode_policy_document;
use serde_json::{json, Value};

/// What AWS would answer for a healthy account: the simulator allows every
/// action asked (one page), and CloudTrail records no rotation event.
pub fn healthy_account(operation: &str, body: &[u8]) -> Option<String> {
    match operation {
        "iam:SimulatePrincipalPolicy" => Some(simulation(body, usize::MAX, |_, _| "allowed")),
        "cloudtrail:LookupEvents" => Some(lookup_events_page(Vec::new(), None)),
        _ => None,
    }
}

/// The values of a form-encoded (awsQuery) request's `key`, or of its list
/// `key.member.1`, `key.member.2`, ... in order.
pub fn form_values(body: &[u8], key: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let member = format!("{key}.member.");
    let mut values: Vec<(usize, String)> = text
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let index = match name.strip_prefix(&member) {
                Some(n) => n.parse().ok()?,
                None if name == key => 0,
                None => return None,
            };
            // Percent-encoded, as IAM's policy documents are.
            Some((index, decode_policy_document(value).into_owned()))
        })
        .collect();
    values.sort_by_key(|(index, _)| *index);
    values.into_iter().map(|(_, value)| value).collect()
}

/// The SimulatePrincipalPolicy answer to the request `body`: for each action
/// asked, `decide(action, resource)` (`allowed`, `implicitDeny` or
/// `explicitDeny`) on each resource, `page_size` actions a page (the
/// `Marker` is the index of the next action). As documented, one
/// `EvaluationResult` per action whose `EvalDecision` is the most
/// restrictive, with the per-resource decisions in `ResourceSpecificResults`;
/// a question on `*` alone is answered with `EvalResourceName` `*` instead.
pub fn simulation(
    body: &[u8],
    page_size: usize,
    decide: impl Fn(&str, &str) -> &'static str,
) -> String {
    let actions = form_values(body, "ActionNames");
    let resources = form_values(body, "ResourceArns");
    let start: usize = form_values(body, "Marker")
        .first()
        .and_then(|marker| marker.parse().ok())
        .unwrap_or(0)
        .min(actions.len());
    let end = start.saturating_add(page_size).min(actions.len());
    let results: String = actions[start..end]
        .iter()
        .map(|action| {
            let decisions: Vec<(&str, &str)> = resources
                .iter()
                .map(|resource| (resource.as_str(), decide(action, resource)))
                .collect();
            let overall = ["explicitDeny", "implicitDeny"]
                .into_iter()
                .find(|worst| decisions.iter().any(|(_, d)| d == worst))
                .unwrap_or("allowed");
            let per_resource = match resources.as_slice() {
                [only] if only == "*" => "<EvalResourceName>*</EvalResourceName>".to_string(),
                _ => {
                    let members: String = decisions
                        .iter()
                        .map(|(resource, decision)| {
                            format!(
                                "<member><EvalResourceName>{resource}</EvalResourceName>\
                                 <EvalResourceDecision>{decision}</EvalResourceDecision></member>"
                            )
                        })
                        .collect();
                    format!("<ResourceSpecificResults>{members}</ResourceSpecificResults>")
                }
            };
            format!(
                "<member><EvalActionName>{action}</EvalActionName>\
                 <EvalDecision>{overall}</EvalDecision>{per_resource}</member>"
            )
        })
        .collect();
    let more = if end < actions.len() {
        format!("<IsTruncated>true</IsTruncated><Marker>{end}</Marker>")
    } else {
        "<IsTruncated>false</IsTruncated>".to_string()
    };
    ok(
        "text/xml",
        &format!(
            "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <SimulatePrincipalPolicyResult><EvaluationResults>{results}</EvaluationResults>{more}\
             </SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>aws-only</RequestId>\
             </ResponseMetadata></SimulatePrincipalPolicyResponse>"
        ),
    )
}

/// What a LookupEvents request asks for: the value of its one lookup
/// attribute (`None` unless it is exactly one `EventName`) and the page, from
/// 1 (our `NextToken`s are page numbers).
pub fn lookup_request(body: &[u8]) -> (Option<String>, usize) {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let name = match request["LookupAttributes"].as_array().map(Vec::as_slice) {
        Some([attribute]) if attribute["AttributeKey"] == "EventName" => {
            attribute["AttributeValue"].as_str().map(str::to_string)
        }
        _ => None,
    };
    let page = request["NextToken"]
        .as_str()
        .and_then(|token| token.parse().ok())
        .unwrap_or(1);
    (name, page)
}

/// A LookupEvents answer holding `events`, with `NextToken` `next` if given.
pub fn lookup_events_page(events: Vec<Value>, next: Option<usize>) -> String {
    let mut page = json!({ "Events": events });
    if let Some(next) = next {
        page["NextToken"] = json!(next.to_string());
    }
    ok("application/x-amz-json-1.1", &page.to_string())
}

/// One Secrets Manager rotation event (`RotationFailed`, ...) about
/// `secret_arn`, as LookupEvents returns it: the record itself is the JSON
/// string `CloudTrailEvent`, shaped like Secrets Manager's documented entries
/// for rotation.
pub fn rotation_event(
    name: &str,
    secret_arn: &str,
    time: DateTime<Utc>,
    error_message: Option<&str>,
) -> Value {
    let id = format!("{name}-{}", time.timestamp());
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": {"accountId": "123456789012", "invokedBy": "secretsmanager.amazonaws.com"},
        "eventTime": time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": name,
        "awsRegion": super::REGION,
        "sourceIPAddress": "secretsmanager.amazonaws.com",
        "userAgent": "secretsmanager.amazonaws.com",
        "requestParameters": null,
        "responseElements": null,
        "additionalEventData": {"SecretId": secret_arn},
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management",
    });
    if let Some(message) = error_message {
        record["errorMessage"] = json!(message);
    }
    json!({
        "EventId": id,
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": time.timestamp(),
        "EventSource": "secretsmanager.amazonaws.com",
        "Resources": [],
        "CloudTrailEvent": record.to_string(),
    })
}

fn ok(content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
