//! A loopback HTTP proxy in front of moto: it counts AWS calls by service and
//! operation, can add latency to each call, and can answer chosen calls with
//! a fault (throttling, AccessDenied, a dropped connection) or with a
//! test's own answer (for the calls moto lacks, see `aws_only.rs`) instead
//! of forwarding them. The binary under test is pointed at the proxy with
//! `--endpoint-url`, so it runs unchanged against a misbehaving "AWS".
//!
//! It also keeps a timeline of the calls (when each arrived and when its
//! answer was ready), from which [`critical_path`] counts the round trips
//! that waited on each other.
//!
//! One request per connection (`Connection: close`), as moto itself answers.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What to do instead of forwarding a call.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The service's throttling error, which the SDK retries.
    Throttle,
    /// AccessDenied in the protocol of the service.
    AccessDenied,
    /// Close the connection without answering.
    Reset,
}

#[derive(Clone, Debug)]
pub struct Rule {
    /// `service:Operation` (e.g. `ec2:DescribeSecurityGroups`), or `*`.
    pub operation: String,
    pub fault: Fault,
    /// Fault every Nth matching call (1 = every one).
    pub every: usize,
}

/// A test's answer to a call, given its `service:Operation` and body: the
/// whole HTTP response, or `None` to forward the call to moto.
pub type Answer = Arc<dyn Fn(&str, &[u8]) -> Option<String> + Send + Sync>;

/// One call as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Call {
    /// `service:Operation`.
    pub operation: String,
    /// When the proxy had read the whole request.
    pub started: Instant,
    /// When the answer was ready to go back (after the added latency and
    /// moto's answer).
    pub ended: Instant,
}

#[derive(Default)]
struct State {
    calls: BTreeMap<String, usize>,
    faults: usize,
    matched: BTreeMap<usize, usize>,
    timeline: Vec<Call>,
}

pub struct Proxy {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream_port`.
    pub fn start(upstream_port: u16, latency: Duration, rules: Vec<Rule>) -> Proxy {
        Proxy::launch(upstream_port, latency, rules, None)
    }

    /// Answers the calls `answer` takes and forwards the others to
    /// `upstream_port`.
    pub fn answering(
        upstream_port: u16,
        latency: Duration,
        answer: impl Fn(&str, &[u8]) -> Option<String> + Send + Sync + 'static,
    ) -> Proxy {
        Proxy::launch(upstream_port, latency, Vec::new(), Some(Arc::new(answer)))
    }

    fn launch(
        upstream_port: u16,
        latency: Duration,
        rules: Vec<Rule>,
        answer: Option<Answer>,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let rules = Arc::new(rules);
        {
            let (state, stop, in_flight) = (state.clone(), stop.clone(), in_flight.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, rules, in_flight, answer) = (
                        state.clone(),
                        rules.clone(),
                        in_flight.clone(),
                        answer.clone(),
                    );
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    thread::spawn(move || {
                        let _ = serve(
                            stream,
                            upstream_port,
                            latency,
                            &rules,
                            answer.as_ref(),
                            &state,
                        );
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
        }
        Proxy {
            port,
            state,
            stop,
            in_flight,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `rotation-doctor ARGS --endpoint-url <this proxy>`.
    pub fn run_doctor(&self, args: &[&str]) -> Output {
        let endpoint = self.endpoint();
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", endpoint.as_str()]);
        super::run_doctor(&all)
    }

    /// Calls seen, by `service:Operation` (faulted ones included).
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.state.lock().expect("proxy state").calls.clone()
    }

    pub fn total_calls(&self) -> usize {
        self.calls().values().sum()
    }

    pub fn faults(&self) -> usize {
        self.state.lock().expect("proxy state").faults
    }

    /// Every answered call, in the order they started.
    pub fn timeline(&self) -> Vec<Call> {
        let mut calls = self.state.lock().expect("proxy state").timeline.clone();
        calls.sort_by_key(|c| c.started);
        calls
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for _ in 0..50 {
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Latency added to every call when round trips are counted: large
/// against moto's time per call and the binary's own work between calls, so
/// calls sent together overlap (to chain, one would have to start half a
/// second after the other's answer, even on a loaded machine) and only
/// calls that waited on each other chain.
pub const ROUND_TRIP_LATENCY: Duration = Duration::from_millis(500);

/// The longest chain of calls in which each call started after the one
/// before it had ended: the round trips on the critical path, as operation
/// names. Counted from the order of the calls, not from their durations.
/// The timeline shows that a call waited, not for which answer: of equal
/// chains, each step keeps the answer that came last before its call.
pub fn critical_path(calls: &[Call]) -> Vec<String> {
    let (calls, longest) = chains(calls);
    let mut at = (0..calls.len()).max_by_key(|&i| (longest[i].0, calls[i].ended));
    let mut chain = Vec::new();
    while let Some(i) = at {
        chain.push(calls[i].operation.clone());
        at = longest[i].1;
    }
    chain.reverse();
    chain
}

/// The calls by round trip: round n holds the calls whose longest chain of
/// waits (see [`critical_path`]) has n calls. As many rounds as the
/// critical path has calls.
pub fn rounds(calls: &[Call]) -> Vec<Vec<String>> {
    let (calls, longest) = chains(calls);
    let mut rounds: Vec<Vec<String>> = Vec::new();
    for (call, (length, _)) in calls.iter().zip(longest) {
        if rounds.len() < length {
            rounds.resize(length, Vec::new());
        }
        rounds[length - 1].push(call.operation.clone());
    }
    rounds
}

/// The calls sorted by start and, for each, the length of the longest chain
/// ending with it and the call before it in that chain. Every call that
/// ended before it started can precede it, and all of those started
/// earlier, so one pass in start order sees them first.
fn chains(calls: &[Call]) -> (Vec<Call>, Vec<(usize, Option<usize>)>) {
    let mut calls = calls.to_vec();
    calls.sort_by_key(|c| c.started);
    let mut longest: Vec<(usize, Option<usize>)> = Vec::with_capacity(calls.len());
    for call in &calls {
        let before = (0..longest.len())
            .filter(|&j| calls[j].ended <= call.started)
            .max_by_key(|&j| (longest[j].0, calls[j].ended));
        longest.push((before.map_or(0, |j| longest[j].0) + 1, before));
    }
    (calls, longest)
}

struct Request {
    head: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let length = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { head, body })
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// `service:Operation` of a signed AWS request: the service from the SigV4
/// credential scope, the operation from X-Amz-Target (JSON protocols), the
/// Action form field (query protocols), or the REST path (Lambda).
pub fn operation(head: &str, body: &[u8]) -> String {
    let service = header(head, "authorization")
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    if let Some(target) = header(head, "x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or(target);
        return format!("{service}:{op}");
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("{service}:{action}");
    }
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let op = match (method, path) {
        (_, p) if p.ends_with("/configuration") && method == "GET" => "GetFunctionConfiguration",
        (_, p) if p.ends_with("/configuration") => "UpdateFunctionConfiguration",
        ("GET", p) if p.ends_with("/policy") => "GetPolicy",
        ("POST", p) if p.ends_with("/policy") => "AddPermission",
        ("DELETE", p) if p.contains("/policy/") => "RemovePermission",
        ("GET", p) if p.contains("/tags/") => "ListTags",
        ("GET", p) if p.contains("/functions/") => "GetFunction",
        (m, p) => return format!("{service}:{m} {p}"),
    };
    format!("{service}:{op}")
}

/// The HTTP response of `fault` in `service`'s protocol; `None` for a reset.
pub fn fault_response(fault: &Fault, service: &str) -> Option<String> {
    let json = |status: &str, code: &str, message: &str| {
        let body = format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}");
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let xml = |status: &str, code: &str, message: &str| {
        let body = format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
        );
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    // awsQuery services (RDS, IAM, STS) wrap errors in ErrorResponse; EC2
    // in Response/Errors.
    let query_error = |status: &str, code: &str, message: &str| {
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        );
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let query = matches!(service, "ec2" | "rds" | "iam" | "sts");
    Some(match (fault, query, service) {
        (Fault::Reset, _, _) => return None,
        (Fault::Throttle, true, "ec2") => xml(
            "503 Service Unavailable",
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ),
        (Fault::Throttle, true, _) => query_error("400 Bad Request", "Throttling", "Rate exceeded"),
        (Fault::Throttle, false, "lambda") => json(
            "429 Too Many Requests",
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        (Fault::Throttle, false, _) => {
            json("400 Bad Request", "ThrottlingException", "Rate exceeded")
        }
        (Fault::AccessDenied, true, "ec2") => xml(
            "403 Forbidden",
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ),
        (Fault::AccessDenied, true, _) => xml(
            "403 Forbidden",
            "AccessDenied",
            "User is not authorized to perform this action",
        ),
        (Fault::AccessDenied, false, _) => json(
            "403 Forbidden",
            "AccessDeniedException",
            "User is not authorized to perform this action",
        ),
    })
}

fn serve(
    mut client: TcpStream,
    upstream_port: u16,
    latency: Duration,
    rules: &[Rule],
    canned: Option<&Answer>,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let request = read_request(&mut reader)?;
    if request.head.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let op = operation(&request.head, &request.body);
    let response = answer(&request, &op, upstream_port, latency, rules, canned, state);
    // Recorded before the answer is written, so the binary cannot read an
    // answer whose call is not in the timeline yet, and a call it sends on
    // reading this answer always starts after this one ended.
    state.lock().expect("proxy state").timeline.push(Call {
        operation: op,
        started,
        ended: Instant::now(),
    });
    match response? {
        Some(bytes) => {
            client.write_all(&bytes)?;
            let _ = client.shutdown(Shutdown::Write);
        }
        None => {
            let _ = client.shutdown(Shutdown::Both);
        }
    }
    Ok(())
}

/// Counts the call, waits `latency`, then gives the fault's answer, the
/// test's own (`canned`), or moto's (`None`: drop the connection).
fn answer(
    request: &Request,
    op: &str,
    upstream_port: u16,
    latency: Duration,
    rules: &[Rule],
    canned: Option<&Answer>,
    state: &Mutex<State>,
) -> std::io::Result<Option<Vec<u8>>> {
    let fault = {
        let mut state = state.lock().expect("proxy state");
        *state.calls.entry(op.to_string()).or_default() += 1;
        let mut chosen = None;
        for (index, rule) in rules.iter().enumerate() {
            if rule.operation == "*" || rule.operation == op {
                let seen = state.matched.entry(index).or_default();
                *seen += 1;
                if (*seen).is_multiple_of(rule.every.max(1)) {
                    chosen = Some(rule.fault.clone());
                    break;
                }
            }
        }
        if chosen.is_some() {
            state.faults += 1;
        }
        chosen
    };
    if !latency.is_zero() {
        thread::sleep(latency);
    }
    if let Some(fault) = fault {
        let service = op.split(':').next().unwrap_or_default();
        return Ok(fault_response(&fault, service).map(String::into_bytes));
    }
    if let Some(response) = canned.and_then(|canned| canned(op, &request.body)) {
        return Ok(Some(response.into_bytes()));
    }
    // Forward with Connection: close so the upstream ends the response.
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    let head: String = request
        .head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\r\n"))
        .collect();
    upstream.write_all(head.as_bytes())?;
    upstream.write_all(b"Connection: close\r\n\r\n")?;
    upstream.write_all(&request.body)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    Ok(Some(response))
}
