//! The Terraform front end of the template loader: a plan as
//! `terraform show -json PLAN` writes it
//! (https://developer.hashicorp.com/terraform/internals/json-format),
//! rewritten as the CloudFormation resources it amounts to, so that the
//! same resource-to-facts mapping (`resources.rs`) reads it.
//!
//! Identity: a resource's address (`aws_security_group.db`,
//! `module.db.aws_db_instance.this`) is its logical id. A value the plan
//! knows is used as is (a known id of a plan resource becomes a reference
//! to its address); a value unknown at plan time that refers to a resource
//! of the plan is written as a `Ref`/`Fn::GetAtt` of that address, found
//! through the `references` of the configuration's `expressions` (module
//! variables and outputs followed). A reference to what the plan
//! does not hold (a data source read at apply, an output of a module the
//! configuration does not show, a resource of a type not read here, a
//! value known only after apply and linked to nothing) becomes an
//! unresolved value with a sentence saying so, so the checks that need it
//! come out unknown.
//!
//! Locations: the JSON plan has no source positions of the `.tf` files, so
//! findings point at the plan file, at the line of the resource's planned
//! values (or of the attribute a fix changes), with the address as the
//! logical location.
//!
//! A secret's value is read for its keys only: of a planned
//! `secret_string`, the values of host, port, engine, dbname and username
//! are kept, the others (the password) are read as keys without values.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::intrinsics::Val;
use super::yaml::{Entry, Node, Value};
use super::TemplateError;

/// Marks a security group Terraform creates: Terraform removes the
/// allow-all egress rule AWS adds, so it has only the egress written
/// (https://github.com/hashicorp/terraform-provider-aws/blob/main/website/docs/r/security_group.html.markdown).
pub const NO_DEFAULT_EGRESS: &str = "RotationDoctorNoDefaultEgress";

/// A Serverless Application Repository application deployed as a stack:
/// what a rotation app (the AWS rotation functions) is in Terraform.
const SAR_STACK: &str = "aws_serverlessapplicationrepository_cloudformation_stack";

/// The types whose resources are template resources under their own
/// address, so references to them can be followed.
const TRANSLATED: &[&str] = &[
    "aws_vpc",
    "aws_subnet",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_nat_gateway",
    "aws_internet_gateway",
    "aws_network_acl",
    "aws_network_acl_rule",
    "aws_vpc_endpoint",
    "aws_db_subnet_group",
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_kms_key",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_lambda_function",
    "aws_lambda_permission",
    "aws_secretsmanager_secret",
    "aws_secretsmanager_secret_rotation",
    SAR_STACK,
];

/// The secret fields whose values may be kept; the rest are keys only.
const KEPT_SECRET_FIELDS: &[&str] = &["host", "port", "engine", "dbname", "username"];

fn err<T>(line: u32, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        line,
        message: message.into(),
    })
}

/// Whether a parsed file is a Terraform JSON plan (or another Terraform
/// JSON document, which `translate` refuses with a sentence).
pub fn is_terraform(tree: &Node) -> bool {
    tree.get("format_version").is_some()
        && (tree.get("planned_values").is_some()
            || tree.get("configuration").is_some()
            || tree.get("values").is_some()
            || tree.get("terraform_version").is_some())
}

/// One resource instance of the plan.
struct PlanResource<'a> {
    address: String,
    kind: String,
    /// The line of its planned values.
    line: u32,
    values: Option<&'a Node>,
    unknown: Option<&'a Node>,
    expressions: Option<&'a Node>,
    /// `module.db.` for a resource of module db, "" at the root.
    module: String,
    depends_on: Vec<String>,
}

/// A plan rewritten as a template: the tree `resources::targets` reads and
/// the unresolved values its `Ref`s name.
pub struct Translated {
    pub tree: Node,
    pub unresolved: BTreeMap<String, Val>,
}

struct Plan<'a> {
    resources: Vec<PlanResource<'a>>,
    by_address: BTreeMap<String, usize>,
    unresolved: BTreeMap<String, Val>,
    /// Module calls by the prefix of their resources without indexes.
    calls: BTreeMap<String, &'a Node>,
    /// The planned `id` and `arn` of resources that exist already: the
    /// address and attribute they stand for.
    known_ids: BTreeMap<String, (String, String)>,
    /// What each (module, reference) resolved to; `None` while resolving.
    #[allow(clippy::type_complexity)]
    resolved: RefCell<BTreeMap<(String, String), Option<Result<Vec<(String, String)>, String>>>>,
}

fn node(line: u32, value: Value) -> Node {
    Node { line, value }
}

fn text_node(line: u32, text: &str) -> Node {
    node(line, Value::Str(text.to_string()))
}

fn map_node(line: u32, entries: Vec<(&str, Node)>) -> Node {
    node(
        line,
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key: key.to_string(),
                    line: value.line,
                    value,
                })
                .collect(),
        ),
    )
}

fn is_null(n: &Node) -> bool {
    n.value == Value::Null
}

fn items(n: Option<&Node>) -> &[Node] {
    match n.map(|n| &n.value) {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

/// The first element of a nested block (`vpc_config[0]`), or the value.
fn block(n: Option<&Node>) -> Option<&Node> {
    match n.map(|n| &n.value) {
        Some(Value::Seq(items)) => items.first(),
        _ => n,
    }
}

/// An instance address without its indexes: the configuration's address.
fn without_indexes(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The module path of an instance address (`module.a[0].module.b.x.y`
/// → `module.a[0].module.b.`).
fn module_of(address: &str) -> String {
    let mut prefix = String::new();
    let mut rest = address;
    while let Some(after) = rest.strip_prefix("module.") {
        let end = after.find('.').unwrap_or(after.len());
        prefix.push_str("module.");
        prefix.push_str(&after[..end]);
        prefix.push('.');
        rest = after.get(end + 1..).unwrap_or_default();
    }
    prefix
}

/// The module that calls `module` (`module.a.module.b.` → `module.a.`).
fn parent_module(module: &str) -> String {
    let trimmed = module.strip_suffix('.').unwrap_or(module);
    match trimmed.rfind(".module.") {
        None => String::new(),
        Some(i) => trimmed[..=i].to_string(),
    }
}

/// Every managed resource of a module of `planned_values`, with its module.
fn collect_planned<'a>(module: &'a Node, out: &mut Vec<&'a Node>, depth: usize) {
    if depth > 32 {
        return;
    }
    for r in items(module.get("resources")) {
        out.push(r);
    }
    for child in items(module.get("child_modules")) {
        collect_planned(child, out, depth + 1);
    }
}

/// Every resource of the configuration, by configuration address
/// (`module.db.aws_db_instance.this`), and every module call by the
/// prefix of its resources (`module.db.`).
fn collect_configured<'a>(
    module: &'a Node,
    prefix: &str,
    out: &mut BTreeMap<String, &'a Node>,
    calls: &mut BTreeMap<String, &'a Node>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for r in items(module.get("resources")) {
        if let Some(address) = r.get("address").and_then(Node::as_str) {
            out.insert(format!("{prefix}{address}"), r);
        }
    }
    for call in module
        .get("module_calls")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let child_prefix = format!("{prefix}module.{}.", call.key);
        calls.insert(child_prefix.clone(), &call.value);
        if let Some(child) = call.value.get("module") {
            collect_configured(child, &child_prefix, out, calls, depth + 1);
        }
    }
}

/// The plan rewritten as a template, or one sentence on what is wrong.
pub fn translate(tree: &Node) -> Result<Translated, TemplateError> {
    let version = tree
        .get("format_version")
        .and_then(Node::as_str)
        .unwrap_or_default();
    if version.split('.').next() != Some("1") {
        return err(
            tree.get("format_version").map_or(1, |n| n.line),
            format!("Terraform JSON format_version {version:?} is not 1.x, the version rotation-doctor reads"),
        );
    }
    let Some(planned) = tree
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    else {
        return err(
            1,
            "a Terraform JSON document without planned_values is not a plan: pass the output of terraform show -json PLAN",
        );
    };
    let mut planned_resources = Vec::new();
    collect_planned(planned, &mut planned_resources, 0);
    let mut configured = BTreeMap::new();
    let mut calls = BTreeMap::new();
    if let Some(root) = tree.get("configuration").and_then(|c| c.get("root_module")) {
        collect_configured(root, "", &mut configured, &mut calls, 0);
    }
    let mut unknowns: BTreeMap<&str, &Node> = BTreeMap::new();
    for change in items(tree.get("resource_changes")) {
        if let (Some(address), Some(unknown)) = (
            change.get("address").and_then(Node::as_str),
            change.get("change").and_then(|c| c.get("after_unknown")),
        ) {
            unknowns.insert(address, unknown);
        }
    }

    let mut plan = Plan {
        resources: Vec::new(),
        by_address: BTreeMap::new(),
        unresolved: BTreeMap::new(),
        calls,
        known_ids: BTreeMap::new(),
        resolved: RefCell::new(BTreeMap::new()),
    };
    for r in planned_resources {
        let field = |key: &str| r.get(key).and_then(Node::as_str);
        if field("mode") != Some("managed") {
            continue;
        }
        let (Some(address), Some(kind)) = (field("address"), field("type")) else {
            return err(r.line, "a planned resource has no address or type");
        };
        let config = configured.get(&without_indexes(address)).copied();
        let depends_on = items(config.and_then(|c| c.get("depends_on")))
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect();
        let line = r.entry("address").map_or(r.line, |e| e.line);
        plan.by_address
            .insert(address.to_string(), plan.resources.len());
        plan.resources.push(PlanResource {
            address: address.to_string(),
            kind: kind.to_string(),
            line,
            values: r.get("values"),
            unknown: unknowns.get(address).copied(),
            expressions: config.and_then(|c| c.get("expressions")),
            module: module_of(address),
            depends_on,
        });
    }
    for r in plan
        .resources
        .iter()
        .filter(|r| TRANSLATED.contains(&r.kind.as_str()))
    {
        for attribute in ["id", "arn"] {
            if let Some(id) = r
                .values
                .and_then(|v| v.get(attribute))
                .and_then(Node::as_str)
            {
                if !id.is_empty() {
                    plan.known_ids
                        .entry(id.to_string())
                        .or_insert_with(|| (r.address.clone(), attribute.to_string()));
                }
            }
        }
    }
    if !plan
        .resources
        .iter()
        .any(|r| r.kind == "aws_secretsmanager_secret_rotation")
    {
        return err(
            0,
            "the plan creates no aws_secretsmanager_secret_rotation: it rotates no secret",
        );
    }

    let mut out = Vec::new();
    for index in 0..plan.resources.len() {
        plan.translate(index, &mut out)?;
    }
    // Dependencies on what is not a template resource (a plan resource
    // this front end does not read) are left out.
    let emitted: std::collections::BTreeSet<String> = out.iter().map(|(k, _)| k.clone()).collect();
    for (_, resource) in out.iter_mut() {
        if let Value::Map(entries) = &mut resource.value {
            for entry in entries.iter_mut().filter(|e| e.key == "DependsOn") {
                if let Value::Seq(names) = &mut entry.value.value {
                    names.retain(|n| n.as_str().is_some_and(|n| emitted.contains(n)));
                }
            }
        }
    }
    let line = planned.line;
    let resources = node(
        line,
        Value::Map(
            out.into_iter()
                .map(|(key, value)| Entry {
                    key,
                    line: value.line,
                    value,
                })
                .collect(),
        ),
    );
    Ok(Translated {
        tree: map_node(1, vec![("Resources", resources)]),
        unresolved: plan.unresolved,
    })
}

/// What a plan value becomes in the template.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    One,
    List,
}

impl<'a> Plan<'a> {
    fn kind_of(&self, address: &str) -> Option<&str> {
        self.by_address
            .get(address)
            .map(|&i| self.resources[i].kind.as_str())
    }

    /// The resources of the plan a reference names, with the attribute
    /// it reads; `Err` with why for a reference to what the plan does not
    /// hold; `Ok(empty)` for a variable, local or iteration value.
    fn resolve(&self, module: &str, reference: &str) -> Result<Vec<(String, String)>, String> {
        self.resolve_in(module, reference, 0)
    }

    /// The references of an expression, each resolved in `module`.
    fn resolve_all(
        &self,
        module: &str,
        expression: Option<&Node>,
        depth: usize,
    ) -> Result<Vec<(String, String)>, String> {
        let mut found: Vec<(String, String)> = Vec::new();
        for reference in items(expression.and_then(|e| e.get("references"))) {
            let Some(reference) = reference.as_str() else {
                continue;
            };
            for target in self.resolve_in(module, reference, depth + 1)? {
                if !found.iter().any(|(a, _)| *a == target.0) {
                    found.push(target);
                }
            }
        }
        Ok(found)
    }

    /// `resolve`, once per module and reference: a reference met again
    /// while it is being resolved (module variables and outputs that refer
    /// to each other) is a cycle, and each is resolved once however many
    /// expressions lead to it.
    fn resolve_in(
        &self,
        module: &str,
        reference: &str,
        depth: usize,
    ) -> Result<Vec<(String, String)>, String> {
        let key = (module.to_string(), reference.to_string());
        match self.resolved.borrow().get(&key) {
            Some(Some(known)) => return known.clone(),
            Some(None) => {
                return Err(format!(
                    "{module}{reference} refers to itself through module variables and outputs"
                ))
            }
            None => {}
        }
        self.resolved.borrow_mut().insert(key.clone(), None);
        let resolved = self.resolve_uncached(module, reference, depth);
        self.resolved
            .borrow_mut()
            .insert(key, Some(resolved.clone()));
        resolved
    }

    fn resolve_uncached(
        &self,
        module: &str,
        reference: &str,
        depth: usize,
    ) -> Result<Vec<(String, String)>, String> {
        if depth > 16 {
            return Err(format!(
                "{module}{reference} goes through more modules than rotation-doctor follows"
            ));
        }
        let first = reference.split('.').next().unwrap_or_default();
        // A module's input variable: the expression its call passes, in
        // the calling module.
        if first == "var" && !module.is_empty() {
            let name = reference.split('.').nth(1).unwrap_or_default();
            let name = name.split('[').next().unwrap_or_default();
            let call = self.calls.get(&without_indexes(module));
            let expression = call
                .and_then(|c| c.get("expressions"))
                .and_then(|e| e.get(name));
            let parent = parent_module(module);
            return self.resolve_all(&parent, expression, depth);
        }
        // A module's output: its expression, in that module.
        if first == "module" {
            let mut parts = reference.splitn(3, '.');
            let (_, call, rest) = (parts.next(), parts.next(), parts.next());
            let (Some(call), Some(rest)) = (call, rest) else {
                return Ok(Vec::new());
            };
            let output = rest.split(['.', '[']).next().unwrap_or_default();
            let child = format!("{module}module.{call}.");
            let expression = self
                .calls
                .get(&without_indexes(&child))
                .and_then(|c| c.get("module"))
                .and_then(|m| m.get("outputs"))
                .and_then(|o| o.get(output))
                .and_then(|o| o.get("expression"));
            if expression.is_none() {
                return Err(format!(
                    "{module}{reference} is an output of a module the plan's configuration does not show"
                ));
            }
            // Instances of a module with count or for_each: the first one's.
            let instance = self
                .by_address
                .keys()
                .find(|a| a.starts_with(&format!("{module}module.{call}[")))
                .map(|a| {
                    let end = a[module.len()..]
                        .find("].")
                        .map_or(a.len(), |i| module.len() + i + 2);
                    a[..end].to_string()
                })
                .unwrap_or(child);
            return self.resolve_all(&instance, expression, depth);
        }
        if matches!(
            first,
            "var" | "local" | "each" | "count" | "path" | "terraform" | "self"
        ) {
            return Ok(Vec::new());
        }
        if first == "data" {
            let name: Vec<&str> = reference.splitn(4, '.').take(3).collect();
            return Err(format!(
                "{module}{} is a data source Terraform reads when the plan is applied: its value is not in the plan",
                name.join(".")
            ));
        }
        let full = format!("{module}{reference}");
        let mut candidate = full.as_str();
        loop {
            let attribute = full[candidate.len()..]
                .trim_start_matches('.')
                .split('.')
                .next()
                .unwrap_or_default()
                .to_string();
            if self.by_address.contains_key(candidate) {
                return Ok(vec![(candidate.to_string(), attribute)]);
            }
            // `aws_subnet.db` of a resource with count or for_each: every instance.
            let first_instance = format!("{candidate}[");
            let instances: Vec<(String, String)> = self
                .by_address
                .range(first_instance.clone()..)
                .map(|(a, _)| a)
                .take_while(|a| a.starts_with(&first_instance))
                .map(|a| (a.clone(), attribute.clone()))
                .collect();
            if !instances.is_empty() {
                return Ok(instances);
            }
            match candidate.rfind('.') {
                Some(dot) if dot > module.len() => candidate = &candidate[..dot],
                _ => break,
            }
        }
        Err(format!(
            "{full} is not a resource of the plan: rotation-doctor cannot see it before apply"
        ))
    }

    /// The plan resources `references` name, each once, with the attribute
    /// asked of it; and why the first one outside the plan could not be
    /// resolved.
    fn resolve_references(
        &self,
        module: &str,
        references: &[String],
    ) -> (Vec<(String, String)>, Option<String>) {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut outside = None;
        for reference in references {
            match self.resolve_translated(module, reference) {
                Ok(targets) => {
                    for target in targets {
                        if !found.iter().any(|(a, _)| *a == target.0) {
                            found.push(target);
                        }
                    }
                }
                Err(why) => outside = outside.or(Some(why)),
            }
        }
        (found, outside)
    }

    /// `resolve`, refusing with why a plan resource that is no template
    /// resource of its own (a type this front end does not read), so that
    /// only references to template resources are written.
    fn resolve_translated(
        &self,
        module: &str,
        reference: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let found = self.resolve(module, reference)?;
        for (address, _) in &found {
            match self.kind_of(address) {
                Some(kind) if TRANSLATED.contains(&kind) => {}
                kind => {
                    return Err(format!(
                        "{address} is a {}, which rotation-doctor does not read from plans",
                        kind.unwrap_or("resource")
                    ))
                }
            }
        }
        Ok(found)
    }

    /// A `Ref`/`Fn::GetAtt` of a plan resource that gives what Terraform's
    /// attribute gives (an ARN, a name, an endpoint; an id otherwise).
    fn ref_node(&self, line: u32, address: &str, attribute: &str) -> Node {
        let kind = self.kind_of(address).unwrap_or_default();
        let get_att = |name: &str| {
            map_node(
                line,
                vec![(
                    "Fn::GetAtt",
                    node(
                        line,
                        Value::Seq(vec![text_node(line, address), text_node(line, name)]),
                    ),
                )],
            )
        };
        match (kind, attribute) {
            ("aws_lambda_function" | "aws_iam_role" | "aws_kms_key", "arn") => get_att("Arn"),
            ("aws_kms_key", "key_id") => get_att("KeyId"),
            ("aws_db_instance", "arn") => get_att("DBInstanceArn"),
            ("aws_rds_cluster", "arn") => get_att("DBClusterArn"),
            ("aws_db_instance" | "aws_rds_cluster", "address" | "endpoint") => {
                get_att("Endpoint.Address")
            }
            ("aws_db_instance" | "aws_rds_cluster", "port") => get_att("Endpoint.Port"),
            // `outputs["RotationLambdaARN"]` of a Serverless Application
            // Repository rotation app.
            (SAR_STACK, "outputs") => get_att("Outputs.RotationLambdaARN"),
            _ => map_node(line, vec![("Ref", text_node(line, address))]),
        }
    }

    /// A `Ref` of an unresolved value that says why.
    fn unresolved_node(&mut self, line: u32, why: String) -> Node {
        let name = format!("terraform:{}", self.unresolved.len());
        let name = self
            .unresolved
            .iter()
            .find(|(_, v)| matches!(v, Val::Unresolved(w) if *w == why))
            .map(|(k, _)| k.clone())
            .unwrap_or(name);
        self.unresolved.insert(name.clone(), Val::Unresolved(why));
        map_node(line, vec![("Ref", text_node(line, &name))])
    }

    /// The value of attribute `path` of resource `index` (nested blocks
    /// by their first element) as the template writes it: references to
    /// plan resources, else the planned value, else unresolved with why.
    fn value(&mut self, index: usize, path: &[&str], shape: Shape) -> Option<Node> {
        let r = &self.resources[index];
        let mut values = r.values;
        let mut expressions = r.expressions;
        let mut unknown = r.unknown;
        let mut line = r.line;
        for (i, key) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            if let Some(entry) = values.and_then(|v| v.entry(key)) {
                line = entry.line;
            }
            let step = |n: Option<&'a Node>| {
                let n = n.and_then(|n| n.get(key));
                if last {
                    n
                } else {
                    block(n)
                }
            };
            values = step(values);
            expressions = step(expressions);
            unknown = step(unknown);
        }
        let (module, address) = (r.module.clone(), r.address.clone());
        let is_unknown = unknown.is_some_and(|u| match &u.value {
            Value::Bool(b) => *b,
            Value::Seq(items) => items.iter().any(|i| i.value == Value::Bool(true)),
            _ => false,
        });
        // A value the plan knows is used as planned (an id of a resource
        // the plan also holds becomes that resource's address).
        if let Some(v) = values.filter(|v| !is_null(v) && !is_unknown) {
            return Some(self.with_addresses(v));
        }
        // Unknown at plan time: the resources the configuration refers to.
        let references: Vec<String> = items(expressions.and_then(|e| e.get("references")))
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect();
        let (found, outside) = self.resolve_references(&module, &references);
        // `references` lists `aws_x.y.id` and then `aws_x.y`: the attribute
        // comes from the first.
        if !found.is_empty() {
            let nodes: Vec<Node> = found
                .iter()
                .map(|(a, attribute)| self.ref_node(line, a, attribute))
                .collect();
            return Some(match shape {
                Shape::List => node(line, Value::Seq(nodes)),
                Shape::One => nodes.into_iter().next()?,
            });
        }
        let why = match outside {
            Some(why) => why,
            None if is_unknown => format!(
                "{address}.{} is known only after apply, and the plan's configuration links it to no resource of the plan",
                path.join(".")
            ),
            None => return None,
        };
        Some(self.unresolved_node(line, why))
    }

    /// A planned value with each id or ARN of a plan resource (one that
    /// exists already, so its id is known) replaced by a reference to its
    /// address, the id the facts use.
    fn with_addresses(&self, value: &Node) -> Node {
        match &value.value {
            Value::Str(text) => match self.known_ids.get(text) {
                Some((address, attribute)) => self.ref_node(value.line, address, attribute),
                None => value.clone(),
            },
            Value::Seq(items) => node(
                value.line,
                Value::Seq(items.iter().map(|i| self.with_addresses(i)).collect()),
            ),
            _ => value.clone(),
        }
    }

    /// Several attributes as template properties, absent ones left out.
    fn props(&mut self, index: usize, fields: &[(&str, &[&str], Shape)]) -> Vec<(String, Node)> {
        fields
            .iter()
            .filter_map(|(key, path, shape)| {
                self.value(index, path, *shape)
                    .map(|v| (key.to_string(), v))
            })
            .collect()
    }

    /// The planned value of a plain attribute, as text.
    fn known(&self, index: usize, key: &str) -> Option<String> {
        let v = self.resources[index].values?.get(key)?;
        match &v.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The plan resources of `kind` whose attribute `key` refers to `target`.
    fn referring(&mut self, kind: &str, key: &[&str], target: &str) -> Vec<usize> {
        let candidates: Vec<usize> = (0..self.resources.len())
            .filter(|&i| self.resources[i].kind == kind)
            .collect();
        candidates
            .into_iter()
            .filter(|&i| {
                let r = &self.resources[i];
                let mut expressions = r.expressions;
                for k in key {
                    expressions = block(expressions.and_then(|e| e.get(k)));
                }
                items(expressions.and_then(|e| e.get("references")))
                    .iter()
                    .filter_map(Node::as_str)
                    .any(|reference| {
                        self.resolve(&r.module, reference)
                            .is_ok_and(|t| t.iter().any(|(a, _)| a == target))
                    })
            })
            .collect()
    }

    /// Every plan resource a resource depends on: its references and its
    /// `depends_on`.
    fn dependencies(&self, index: usize) -> Vec<String> {
        let r = &self.resources[index];
        let mut references = Vec::new();
        fn walk(n: &Node, out: &mut Vec<String>, depth: usize) {
            if depth > 16 {
                return;
            }
            match &n.value {
                Value::Map(entries) => {
                    for e in entries {
                        if e.key == "references" {
                            out.extend(
                                items(Some(&e.value))
                                    .iter()
                                    .filter_map(|i| i.as_str().map(str::to_string)),
                            );
                        } else {
                            walk(&e.value, out, depth + 1);
                        }
                    }
                }
                Value::Seq(items) => items.iter().for_each(|i| walk(i, out, depth + 1)),
                _ => {}
            }
        }
        if let Some(e) = r.expressions {
            walk(e, &mut references, 0);
        }
        references.extend(r.depends_on.iter().cloned());
        let mut out: Vec<String> = Vec::new();
        for reference in references {
            for (address, _) in self.resolve(&r.module, &reference).unwrap_or_default() {
                if address != r.address && !out.contains(&address) {
                    out.push(address);
                }
            }
        }
        out
    }

    /// The template resources of plan resource `index`, appended to `out`.
    fn translate(
        &mut self,
        index: usize,
        out: &mut Vec<(String, Node)>,
    ) -> Result<(), TemplateError> {
        use Shape::{List, One};
        let r = &self.resources[index];
        let (address, line, kind) = (r.address.clone(), r.line, r.kind.clone());
        let resource = |cfn: &str, props: Vec<(String, Node)>, extra: Vec<(&str, Node)>| {
            let props = node(
                line,
                Value::Map(
                    props
                        .into_iter()
                        .map(|(key, value)| Entry {
                            key,
                            line: value.line,
                            value,
                        })
                        .collect(),
                ),
            );
            let mut entries = vec![("Type", text_node(line, cfn)), ("Properties", props)];
            entries.extend(extra);
            map_node(line, entries)
        };
        let name_tag = |plan: &mut Plan, props: &mut Vec<(String, Node)>| {
            if let Some(name) = plan.resources[index]
                .values
                .and_then(|v| v.get("tags"))
                .and_then(|t| t.get("Name"))
                .and_then(Node::as_str)
            {
                let tag = map_node(
                    line,
                    vec![
                        ("Key", text_node(line, "Name")),
                        ("Value", text_node(line, name)),
                    ],
                );
                props.push(("Tags".to_string(), node(line, Value::Seq(vec![tag]))));
            }
        };
        match kind.as_str() {
            "aws_vpc" => {
                let mut props = self.props(
                    index,
                    &[
                        ("CidrBlock", &["cidr_block"], One),
                        ("EnableDnsSupport", &["enable_dns_support"], One),
                        ("EnableDnsHostnames", &["enable_dns_hostnames"], One),
                    ],
                );
                name_tag(self, &mut props);
                out.push((address, resource("AWS::EC2::VPC", props, vec![])));
            }
            "aws_subnet" => {
                let mut props = self.props(
                    index,
                    &[
                        ("VpcId", &["vpc_id"], One),
                        ("CidrBlock", &["cidr_block"], One),
                        ("Ipv6CidrBlock", &["ipv6_cidr_block"], One),
                        ("AvailabilityZone", &["availability_zone"], One),
                    ],
                );
                name_tag(self, &mut props);
                out.push((address, resource("AWS::EC2::Subnet", props, vec![])));
            }
            "aws_security_group" => {
                let mut props = self.props(index, &[("VpcId", &["vpc_id"], One)]);
                if let Some(name) = self.known(index, "name") {
                    props.push(("GroupName".to_string(), text_node(line, &name)));
                } else {
                    name_tag(self, &mut props);
                }
                for (key, cfn, ingress) in [
                    ("ingress", "SecurityGroupIngress", true),
                    ("egress", "SecurityGroupEgress", false),
                ] {
                    let rules = self.inline_sg_rules(index, key, ingress);
                    if !rules.is_empty() {
                        let at = self.resources[index]
                            .values
                            .and_then(|v| v.entry(key))
                            .map_or(line, |e| e.line);
                        props.push((cfn.to_string(), node(at, Value::Seq(rules))));
                    }
                }
                let marker = map_node(
                    line,
                    vec![(NO_DEFAULT_EGRESS, node(line, Value::Bool(true)))],
                );
                out.push((
                    address,
                    resource("AWS::EC2::SecurityGroup", props, vec![("Metadata", marker)]),
                ));
            }
            "aws_security_group_rule" => {
                let ingress = self.known(index, "type").as_deref() != Some("egress");
                let group = self.value(index, &["security_group_id"], One);
                let mut rules = self.sg_rule(index, &[], ingress);
                if self.known(index, "self").as_deref() == Some("true") {
                    if let Some(group) = &group {
                        let peer_key = if ingress {
                            "SourceSecurityGroupId"
                        } else {
                            "DestinationSecurityGroupId"
                        };
                        let mut base = self.sg_rule_base(index, &[]);
                        base.push((peer_key.to_string(), group.clone()));
                        rules.push(entries_node(line, base));
                    }
                }
                let cfn = if ingress {
                    "AWS::EC2::SecurityGroupIngress"
                } else {
                    "AWS::EC2::SecurityGroupEgress"
                };
                if rules.is_empty() {
                    // No peer: a rule that admits nothing, still a resource
                    // under its address for what refers to it.
                    let base = self.sg_rule_base(index, &[]);
                    rules.push(entries_node(line, base));
                }
                for (n, rule) in rules.into_iter().enumerate() {
                    let mut props: Vec<(String, Node)> = rule
                        .as_map()
                        .unwrap_or_default()
                        .iter()
                        .map(|e| (e.key.clone(), e.value.clone()))
                        .collect();
                    if let Some(group) = &group {
                        props.push(("GroupId".to_string(), group.clone()));
                    }
                    let id = if n == 0 {
                        address.clone()
                    } else {
                        format!("{address}/{n}")
                    };
                    out.push((id, resource(cfn, props, vec![])));
                }
            }
            "aws_vpc_security_group_ingress_rule" | "aws_vpc_security_group_egress_rule" => {
                let ingress = kind == "aws_vpc_security_group_ingress_rule";
                let (group_key, list_key) = if ingress {
                    ("SourceSecurityGroupId", "SourcePrefixListId")
                } else {
                    ("DestinationSecurityGroupId", "DestinationPrefixListId")
                };
                let props = self.props(
                    index,
                    &[
                        ("GroupId", &["security_group_id"], One),
                        ("IpProtocol", &["ip_protocol"], One),
                        ("FromPort", &["from_port"], One),
                        ("ToPort", &["to_port"], One),
                        ("CidrIp", &["cidr_ipv4"], One),
                        ("CidrIpv6", &["cidr_ipv6"], One),
                        (group_key, &["referenced_security_group_id"], One),
                        (list_key, &["prefix_list_id"], One),
                        ("Description", &["description"], One),
                    ],
                );
                let cfn = if ingress {
                    "AWS::EC2::SecurityGroupIngress"
                } else {
                    "AWS::EC2::SecurityGroupEgress"
                };
                out.push((address, resource(cfn, props, vec![])));
            }
            "aws_route_table" => {
                let props = self.props(index, &[("VpcId", &["vpc_id"], One)]);
                out.push((
                    address.clone(),
                    resource("AWS::EC2::RouteTable", props, vec![]),
                ));
                let routes = self.resources[index]
                    .values
                    .and_then(|v| v.get("route"))
                    .map(|n| items(Some(n)).len())
                    .unwrap_or(0);
                for n in 0..routes {
                    let mut props = self.route_props(index, Some(n));
                    props.push((
                        "RouteTableId".to_string(),
                        map_node(line, vec![("Ref", text_node(line, &address))]),
                    ));
                    let at = props.first().map_or(line, |(_, v)| v.line);
                    let mut route = resource("AWS::EC2::Route", props, vec![]);
                    route.line = at;
                    out.push((format!("{address}/route/{n}"), route));
                }
            }
            "aws_route" => {
                let mut props = self.route_props(index, None);
                if let Some(table) = self.value(index, &["route_table_id"], One) {
                    props.push(("RouteTableId".to_string(), table));
                }
                out.push((address, resource("AWS::EC2::Route", props, vec![])));
            }
            "aws_route_table_association" => {
                let props = self.props(
                    index,
                    &[
                        ("SubnetId", &["subnet_id"], One),
                        ("RouteTableId", &["route_table_id"], One),
                    ],
                );
                out.push((
                    address,
                    resource("AWS::EC2::SubnetRouteTableAssociation", props, vec![]),
                ));
            }
            "aws_nat_gateway" => {
                let props = self.props(
                    index,
                    &[
                        ("SubnetId", &["subnet_id"], One),
                        ("ConnectivityType", &["connectivity_type"], One),
                    ],
                );
                out.push((address, resource("AWS::EC2::NatGateway", props, vec![])));
            }
            "aws_internet_gateway" => {
                out.push((
                    address.clone(),
                    resource("AWS::EC2::InternetGateway", vec![], vec![]),
                ));
                if let Some(vpc) = self.value(index, &["vpc_id"], One) {
                    let props = vec![
                        (
                            "InternetGatewayId".to_string(),
                            map_node(line, vec![("Ref", text_node(line, &address))]),
                        ),
                        ("VpcId".to_string(), vpc),
                    ];
                    out.push((
                        format!("{address}/attachment"),
                        resource("AWS::EC2::VPCGatewayAttachment", props, vec![]),
                    ));
                }
            }
            "aws_network_acl" => {
                let props = self.props(index, &[("VpcId", &["vpc_id"], One)]);
                out.push((
                    address.clone(),
                    resource("AWS::EC2::NetworkAcl", props, vec![]),
                ));
                let acl = || map_node(line, vec![("Ref", text_node(line, &address))]);
                for (key, egress) in [("ingress", false), ("egress", true)] {
                    let count = self.resources[index]
                        .values
                        .map(|v| items(v.get(key)).len())
                        .unwrap_or(0);
                    for n in 0..count {
                        let Some(entry) = self.resources[index]
                            .values
                            .and_then(|v| items(v.get(key)).get(n))
                        else {
                            continue;
                        };
                        let mut props = acl_entry_props(entry, egress);
                        props.push(("NetworkAclId".to_string(), acl()));
                        let mut e = resource("AWS::EC2::NetworkAclEntry", props, vec![]);
                        e.line = entry.line;
                        out.push((format!("{address}/{key}/{n}"), e));
                    }
                }
                if let Some(subnets) = self.value(index, &["subnet_ids"], List) {
                    let list: Vec<Node> = match subnets.value {
                        Value::Seq(items) => items,
                        _ => vec![subnets],
                    };
                    for (n, subnet) in list.into_iter().enumerate() {
                        let props = vec![
                            ("SubnetId".to_string(), subnet),
                            ("NetworkAclId".to_string(), acl()),
                        ];
                        out.push((
                            format!("{address}/subnet/{n}"),
                            resource("AWS::EC2::SubnetNetworkAclAssociation", props, vec![]),
                        ));
                    }
                }
            }
            "aws_network_acl_rule" => {
                let mut props = self.props(
                    index,
                    &[
                        ("NetworkAclId", &["network_acl_id"], One),
                        ("RuleNumber", &["rule_number"], One),
                        ("Egress", &["egress"], One),
                        ("RuleAction", &["rule_action"], One),
                        ("CidrBlock", &["cidr_block"], One),
                        ("Ipv6CidrBlock", &["ipv6_cidr_block"], One),
                    ],
                );
                if let Some(values) = self.resources[index].values {
                    props.extend(
                        acl_entry_props(values, false)
                            .into_iter()
                            .filter(|(k, _)| k == "Protocol" || k == "PortRange"),
                    );
                }
                out.push((
                    address,
                    resource("AWS::EC2::NetworkAclEntry", props, vec![]),
                ));
            }
            "aws_vpc_endpoint" => {
                let mut props = self.props(
                    index,
                    &[
                        ("VpcId", &["vpc_id"], One),
                        ("ServiceName", &["service_name"], One),
                        ("SubnetIds", &["subnet_ids"], List),
                        ("SecurityGroupIds", &["security_group_ids"], List),
                        ("PrivateDnsEnabled", &["private_dns_enabled"], One),
                        ("PolicyDocument", &["policy"], One),
                    ],
                );
                // Terraform's default type is Gateway, as CloudFormation's.
                let kind = self
                    .known(index, "vpc_endpoint_type")
                    .unwrap_or_else(|| "Gateway".to_string());
                props.push(("VpcEndpointType".to_string(), text_node(line, &kind)));
                out.push((address, resource("AWS::EC2::VPCEndpoint", props, vec![])));
            }
            "aws_db_subnet_group" => {
                let props = self.props(
                    index,
                    &[
                        ("DBSubnetGroupName", &["name"], One),
                        ("SubnetIds", &["subnet_ids"], List),
                    ],
                );
                out.push((address, resource("AWS::RDS::DBSubnetGroup", props, vec![])));
            }
            "aws_db_instance" | "aws_rds_cluster" => {
                let cluster = kind == "aws_rds_cluster";
                let (cfn, id_key, tf_id, groups_key) = if cluster {
                    (
                        "AWS::RDS::DBCluster",
                        "DBClusterIdentifier",
                        "cluster_identifier",
                        "VpcSecurityGroupIds",
                    )
                } else {
                    (
                        "AWS::RDS::DBInstance",
                        "DBInstanceIdentifier",
                        "identifier",
                        "VPCSecurityGroups",
                    )
                };
                let mut props = self.props(
                    index,
                    &[
                        ("Engine", &["engine"], One),
                        ("Port", &["port"], One),
                        (groups_key, &["vpc_security_group_ids"], List),
                        ("DBSubnetGroupName", &["db_subnet_group_name"], One),
                        ("PubliclyAccessible", &["publicly_accessible"], One),
                    ],
                );
                if let Some(id) = self.known(index, tf_id) {
                    props.push((id_key.to_string(), text_node(line, &id)));
                }
                out.push((address, resource(cfn, props, vec![])));
            }
            "aws_kms_key" => {
                let mut props = self.props(
                    index,
                    &[
                        ("KeyPolicy", &["policy"], One),
                        ("Enabled", &["is_enabled"], One),
                    ],
                );
                if !props.iter().any(|(k, _)| k == "KeyPolicy") {
                    // AWS's default key policy: the account's IAM policies decide
                    // (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
                    let principal = map_node(
                        line,
                        vec![(
                            "AWS",
                            map_node(
                                line,
                                vec![(
                                    "Fn::Sub",
                                    text_node(
                                        line,
                                        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
                                    ),
                                )],
                            ),
                        )],
                    );
                    let statement = map_node(
                        line,
                        vec![
                            ("Sid", text_node(line, "Enable IAM User Permissions")),
                            ("Effect", text_node(line, "Allow")),
                            ("Principal", principal),
                            ("Action", text_node(line, "kms:*")),
                            ("Resource", text_node(line, "*")),
                        ],
                    );
                    let document = map_node(
                        line,
                        vec![
                            ("Version", text_node(line, "2012-10-17")),
                            ("Statement", node(line, Value::Seq(vec![statement]))),
                        ],
                    );
                    props.push(("KeyPolicy".to_string(), document));
                }
                out.push((address, resource("AWS::KMS::Key", props, vec![])));
            }
            "aws_iam_role" => {
                let mut props = self.props(
                    index,
                    &[
                        ("AssumeRolePolicyDocument", &["assume_role_policy"], One),
                        ("Path", &["path"], One),
                        ("PermissionsBoundary", &["permissions_boundary"], One),
                    ],
                );
                if let Some(name) = self.known(index, "name") {
                    props.push(("RoleName".to_string(), text_node(line, &name)));
                }
                // Managed policies: its own list and the attachments naming it.
                let mut arns: Vec<Node> = match self.value(index, &["managed_policy_arns"], List) {
                    Some(Node {
                        value: Value::Seq(items),
                        ..
                    }) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                };
                for a in self.referring("aws_iam_role_policy_attachment", &["role"], &address) {
                    if let Some(arn) = self.value(a, &["policy_arn"], One) {
                        arns.push(arn);
                    }
                }
                if !arns.is_empty() {
                    props.push((
                        "ManagedPolicyArns".to_string(),
                        node(line, Value::Seq(arns)),
                    ));
                }
                // Inline policies written in the role.
                let inline: Vec<Node> = self.resources[index]
                    .values
                    .map(|v| items(v.get("inline_policy")))
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|p| {
                        let name = p.get("name").and_then(Node::as_str)?;
                        let document = p.get("policy").filter(|d| !is_null(d))?;
                        Some(map_node(
                            p.line,
                            vec![
                                ("PolicyName", text_node(p.line, name)),
                                ("PolicyDocument", document.clone()),
                            ],
                        ))
                    })
                    .collect();
                if !inline.is_empty() {
                    props.push(("Policies".to_string(), node(line, Value::Seq(inline))));
                }
                out.push((address, resource("AWS::IAM::Role", props, vec![])));
            }
            "aws_iam_policy" => {
                let mut props = self.props(
                    index,
                    &[
                        ("PolicyDocument", &["policy"], One),
                        ("Path", &["path"], One),
                    ],
                );
                if let Some(name) = self.known(index, "name") {
                    props.push(("ManagedPolicyName".to_string(), text_node(line, &name)));
                }
                out.push((address, resource("AWS::IAM::ManagedPolicy", props, vec![])));
            }
            "aws_iam_role_policy" => {
                let mut props = self.props(
                    index,
                    &[
                        ("PolicyDocument", &["policy"], One),
                        ("Roles", &["role"], List),
                    ],
                );
                let name = self.known(index, "name").unwrap_or_else(|| address.clone());
                props.push(("PolicyName".to_string(), text_node(line, &name)));
                out.push((address, resource("AWS::IAM::Policy", props, vec![])));
            }
            "aws_lambda_function" => {
                let mut props = self.props(
                    index,
                    &[
                        ("Role", &["role"], One),
                        ("Runtime", &["runtime"], One),
                        ("Timeout", &["timeout"], One),
                    ],
                );
                if let Some(name) = self.known(index, "function_name") {
                    props.push(("FunctionName".to_string(), text_node(line, &name)));
                }
                let vpc = self.props(
                    index,
                    &[
                        ("SubnetIds", &["vpc_config", "subnet_ids"], List),
                        (
                            "SecurityGroupIds",
                            &["vpc_config", "security_group_ids"],
                            List,
                        ),
                    ],
                );
                if !vpc.is_empty() {
                    let at = self.resources[index]
                        .values
                        .and_then(|v| v.entry("vpc_config"))
                        .map_or(line, |e| e.line);
                    props.push(("VpcConfig".to_string(), entries_node(at, vpc)));
                }
                if let Some(mut variables) = self.value(index, &["environment", "variables"], One) {
                    // One variable named `Ref`, `Condition` or `Fn::…` would
                    // read as a CloudFormation function.
                    if variables.as_map().is_some()
                        && super::intrinsics::function(&variables).is_some()
                    {
                        let why = format!(
                            "the only environment variable of {address} has the name of a CloudFormation function, which rotation-doctor cannot read as a variable"
                        );
                        variables = self.unresolved_node(variables.line, why);
                    }
                    let at = self.resources[index]
                        .values
                        .and_then(|v| v.entry("environment"))
                        .map_or(line, |e| e.line);
                    props.push((
                        "Environment".to_string(),
                        map_node(at, vec![("Variables", variables)]),
                    ));
                }
                out.push((address, resource("AWS::Lambda::Function", props, vec![])));
            }
            "aws_lambda_permission" => {
                let props = self.props(
                    index,
                    &[
                        ("FunctionName", &["function_name"], One),
                        ("Action", &["action"], One),
                        ("Principal", &["principal"], One),
                        ("SourceArn", &["source_arn"], One),
                        ("SourceAccount", &["source_account"], One),
                    ],
                );
                out.push((address, resource("AWS::Lambda::Permission", props, vec![])));
            }
            "aws_secretsmanager_secret" => {
                let mut props = self.props(index, &[("KmsKeyId", &["kms_key_id"], One)]);
                if let Some(name) = self.known(index, "name") {
                    props.push(("Name".to_string(), text_node(line, &name)));
                }
                let versions = self.referring(
                    "aws_secretsmanager_secret_version",
                    &["secret_id"],
                    &address,
                );
                let (value, database) = match versions.first() {
                    Some(&v) => self.secret_value(v),
                    None => (
                        self.unresolved_node(
                            line,
                            format!("no aws_secretsmanager_secret_version of the plan writes the value of {address}"),
                        ),
                        None,
                    ),
                };
                props.push(("SecretString".to_string(), value));
                out.push((
                    address.clone(),
                    resource("AWS::SecretsManager::Secret", props, vec![]),
                ));
                // The version names the database its value points at, as a
                // SecretTargetAttachment does in CloudFormation.
                if let (Some((db, db_kind)), Some(&v)) = (database, versions.first()) {
                    let target_type = if db_kind == "aws_rds_cluster" {
                        "AWS::RDS::DBCluster"
                    } else {
                        "AWS::RDS::DBInstance"
                    };
                    let at = self.resources[v].line;
                    let props = vec![
                        (
                            "SecretId".to_string(),
                            map_node(at, vec![("Ref", text_node(at, &address))]),
                        ),
                        ("TargetType".to_string(), text_node(at, target_type)),
                        (
                            "TargetId".to_string(),
                            map_node(at, vec![("Ref", text_node(at, &db))]),
                        ),
                    ];
                    let mut attachment =
                        resource("AWS::SecretsManager::SecretTargetAttachment", props, vec![]);
                    attachment.line = at;
                    out.push((self.resources[v].address.clone(), attachment));
                }
            }
            "aws_secretsmanager_secret_rotation" => {
                let mut props = self.props(
                    index,
                    &[
                        ("SecretId", &["secret_id"], One),
                        ("RotationLambdaARN", &["rotation_lambda_arn"], One),
                    ],
                );
                let rules = self.props(
                    index,
                    &[
                        (
                            "AutomaticallyAfterDays",
                            &["rotation_rules", "automatically_after_days"],
                            One,
                        ),
                        (
                            "ScheduleExpression",
                            &["rotation_rules", "schedule_expression"],
                            One,
                        ),
                        ("Duration", &["rotation_rules", "duration"], One),
                    ],
                );
                if !rules.is_empty() {
                    let at = rules[0].1.line;
                    props.push(("RotationRules".to_string(), entries_node(at, rules)));
                }
                let depends: Vec<Node> = self
                    .dependencies(index)
                    .iter()
                    .map(|a| text_node(line, a))
                    .collect();
                let extra = if depends.is_empty() {
                    vec![]
                } else {
                    vec![("DependsOn", node(line, Value::Seq(depends)))]
                };
                out.push((
                    address,
                    resource("AWS::SecretsManager::RotationSchedule", props, extra),
                ));
            }
            SAR_STACK => {
                let props = vec![
                    ("Location".to_string(), self.sar_location(index)),
                    ("Parameters".to_string(), self.sar_parameters(index)),
                ];
                out.push((
                    address,
                    resource("AWS::Serverless::Application", props, vec![]),
                ));
            }
            // Read with the resources they belong to, or not needed.
            _ => {}
        }
        Ok(())
    }

    /// The value of a secret version, as the keys it has (and the values
    /// that may be kept), and the database of the plan it refers to.
    fn secret_value(&mut self, version: usize) -> (Node, Option<(String, String)>) {
        let r = &self.resources[version];
        let line = r
            .values
            .and_then(|v| v.entry("secret_string"))
            .map_or(r.line, |e| e.line);
        let address = r.address.clone();
        let module = r.module.clone();
        let references: Vec<String> = items(
            r.expressions
                .and_then(|e| e.get("secret_string"))
                .and_then(|e| e.get("references")),
        )
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_string)
        .collect();
        let database = references.iter().find_map(|reference| {
            self.resolve(&module, reference)
                .ok()?
                .into_iter()
                .find_map(|(a, _)| {
                    let kind = self.kind_of(&a)?;
                    matches!(kind, "aws_db_instance" | "aws_rds_cluster")
                        .then(|| (a.clone(), kind.to_string()))
                })
        });
        let unknown = r
            .unknown
            .and_then(|u| u.get("secret_string"))
            .is_some_and(|u| u.value == Value::Bool(true));
        let planned = r
            .values
            .and_then(|v| v.get("secret_string"))
            .and_then(Node::as_str)
            .filter(|_| !unknown);
        let value = match planned {
            Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(map)) => {
                    // Keys only, but for the fields that may be shown.
                    let kept: serde_json::Map<String, serde_json::Value> = map
                        .into_iter()
                        .map(|(key, value)| {
                            let value = if KEPT_SECRET_FIELDS.contains(&key.as_str()) {
                                value
                            } else {
                                serde_json::Value::Null
                            };
                            (key, value)
                        })
                        .collect();
                    text_node(line, &serde_json::Value::Object(kept).to_string())
                }
                // Not JSON: the mapping only needs to know that.
                _ => text_node(line, "not JSON"),
            },
            None => {
                let why = match (&database, references.is_empty()) {
                    (Some((db, _)), _) => format!(
                        "the value of {address} is built from {db}, which is created when the plan is applied: its keys are not in the plan"
                    ),
                    (None, false) => format!(
                        "the value of {address} is built from {}, which the plan does not hold: its keys are not in the plan",
                        references[0]
                    ),
                    (None, true) => format!(
                        "the value of {address} is not in the plan (secret_binary, or known only after apply)"
                    ),
                };
                self.unresolved_node(line, why)
            }
        };
        (value, database)
    }

    fn sar_location(&mut self, index: usize) -> Node {
        let line = self.resources[index].line;
        let props = self.props(
            index,
            &[
                ("ApplicationId", &["application_id"], Shape::One),
                ("SemanticVersion", &["semantic_version"], Shape::One),
            ],
        );
        entries_node(line, props)
    }

    /// A rotation app's parameters: the known ones as planned; the
    /// subnets and groups unknown at plan time from the resources the
    /// parameters' expression refers to (one expression for the whole map,
    /// so by the kind of resource: subnets and groups are all these apps
    /// take as ids).
    fn sar_parameters(&mut self, index: usize) -> Node {
        let r = &self.resources[index];
        let line = r
            .values
            .and_then(|v| v.entry("parameters"))
            .map_or(r.line, |e| e.line);
        let address = r.address.clone();
        let module = r.module.clone();
        let mut params: Vec<(String, Node)> = r
            .values
            .and_then(|v| v.get("parameters"))
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .filter(|e| !is_null(&e.value))
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        let unknown = r.unknown.and_then(|u| u.get("parameters"));
        let is_unknown = |key: &str| match unknown.map(|u| &u.value) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Map(_)) => unknown
                .and_then(|u| u.get(key))
                .is_some_and(|v| v.value == Value::Bool(true)),
            _ => false,
        };
        let references: Vec<String> = items(
            r.expressions
                .and_then(|e| e.get("parameters"))
                .and_then(|e| e.get("references")),
        )
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_string)
        .collect();
        let (found, outside) = self.resolve_references(&module, &references);
        for (key, kind) in [
            ("vpcSubnetIds", "aws_subnet"),
            ("vpcSecurityGroupIds", "aws_security_group"),
        ] {
            if params.iter().any(|(k, _)| k == key) || !is_unknown(key) {
                continue;
            }
            let of_kind: Vec<Node> = found
                .iter()
                .filter(|(a, _)| self.kind_of(a) == Some(kind))
                .map(|(a, attribute)| self.ref_node(line, a, attribute))
                .collect();
            let value = if of_kind.is_empty() {
                let why = outside.clone().unwrap_or_else(|| {
                    format!(
                        "parameter {key} of {address} is known only after apply, and the plan's configuration links it to no resource of the plan"
                    )
                });
                self.unresolved_node(line, why)
            } else {
                node(line, Value::Seq(of_kind))
            };
            params.push((key.to_string(), value));
        }
        entries_node(line, params)
    }

    /// Protocol, ports and description of a rule at `path` (a standalone
    /// rule's values, or an inline rule's element).
    fn sg_rule_base(&mut self, index: usize, path: &[&str]) -> Vec<(String, Node)> {
        let at = |key: &'static str| -> Vec<&str> {
            let mut p = path.to_vec();
            p.push(key);
            p
        };
        let mut out = Vec::new();
        for (cfn, key) in [
            ("IpProtocol", "protocol"),
            ("FromPort", "from_port"),
            ("ToPort", "to_port"),
            ("Description", "description"),
        ] {
            if let Some(v) = self.value(index, &at(key), Shape::One) {
                out.push((cfn.to_string(), v));
            }
        }
        out
    }

    /// An `aws_security_group_rule` as template rules, one per peer.
    fn sg_rule(&mut self, index: usize, path: &[&str], ingress: bool) -> Vec<Node> {
        let line = self.resources[index].line;
        let base = self.sg_rule_base(index, path);
        let (group_key, list_key) = if ingress {
            ("SourceSecurityGroupId", "SourcePrefixListId")
        } else {
            ("DestinationSecurityGroupId", "DestinationPrefixListId")
        };
        let mut rules = Vec::new();
        for (tf, cfn, shape) in [
            ("cidr_blocks", "CidrIp", Shape::List),
            ("ipv6_cidr_blocks", "CidrIpv6", Shape::List),
            ("prefix_list_ids", list_key, Shape::List),
            ("source_security_group_id", group_key, Shape::One),
        ] {
            let mut p = path.to_vec();
            p.push(tf);
            let peers = match self.value(index, &p, shape) {
                Some(Node {
                    value: Value::Seq(items),
                    ..
                }) => items,
                Some(one) => vec![one],
                None => Vec::new(),
            };
            for peer in peers {
                let mut entries = base.clone();
                entries.push((cfn.to_string(), peer));
                rules.push(entries_node(line, entries));
            }
        }
        rules
    }

    /// The inline `ingress`/`egress` blocks of an `aws_security_group`:
    /// values from the plan, references from the configuration's block of
    /// the same position.
    fn inline_sg_rules(&mut self, index: usize, key: &str, ingress: bool) -> Vec<Node> {
        let r = &self.resources[index];
        let planned: Vec<Node> = r
            .values
            .map(|v| items(v.get(key)).to_vec())
            .unwrap_or_default();
        let configured: Vec<Node> = r
            .expressions
            .map(|e| items(e.get(key)).to_vec())
            .unwrap_or_default();
        let unknown: Vec<Node> = r
            .unknown
            .map(|u| items(u.get(key)).to_vec())
            .unwrap_or_default();
        let module = r.module.clone();
        let (group_key, list_key) = if ingress {
            ("SourceSecurityGroupId", "SourcePrefixListId")
        } else {
            ("DestinationSecurityGroupId", "DestinationPrefixListId")
        };
        let mut rules = Vec::new();
        for (n, rule) in planned.iter().enumerate() {
            let line = rule.line;
            let mut base = Vec::new();
            for (cfn, tf) in [
                ("IpProtocol", "protocol"),
                ("FromPort", "from_port"),
                ("ToPort", "to_port"),
                ("Description", "description"),
            ] {
                if let Some(v) = rule.get(tf).filter(|v| !is_null(v)) {
                    base.push((cfn.to_string(), v.clone()));
                }
            }
            let mut peers: Vec<(String, Node)> = Vec::new();
            for (tf, cfn) in [
                ("cidr_blocks", "CidrIp"),
                ("ipv6_cidr_blocks", "CidrIpv6"),
                ("prefix_list_ids", list_key),
            ] {
                for v in items(rule.get(tf)) {
                    peers.push((cfn.to_string(), v.clone()));
                }
            }
            // Groups: the configuration's references when its block at the
            // same position has them (ids unknown at plan time), else the
            // planned ids.
            let references: Vec<String> = configured
                .get(n)
                .and_then(|c| c.get("security_groups"))
                .map(|e| items(e.get("references")))
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect();
            let mut found = Vec::new();
            let mut outside = None;
            for reference in &references {
                match self.resolve_translated(&module, reference) {
                    Ok(targets) => {
                        for (a, _) in targets {
                            if !found.contains(&a) {
                                found.push(a);
                            }
                        }
                    }
                    Err(why) => outside = outside.or(Some(why)),
                }
            }
            let groups_unknown = unknown
                .get(n)
                .and_then(|u| u.get("security_groups"))
                .is_some_and(|u| {
                    u.value == Value::Bool(true)
                        || items(Some(u)).iter().any(|i| i.value == Value::Bool(true))
                });
            if !found.is_empty() {
                for a in found {
                    peers.push((group_key.to_string(), self.ref_node(line, &a, "id")));
                }
            } else if let Some(why) =
                outside.filter(|_| groups_unknown || items(rule.get("security_groups")).is_empty())
            {
                let n = self.unresolved_node(line, why);
                peers.push((group_key.to_string(), n));
            } else if groups_unknown {
                let why = format!(
                    "the groups of {}'s {key} rule {n} are known only after apply, and the plan's configuration links them to no resource of the plan",
                    self.resources[index].address
                );
                let n = self.unresolved_node(line, why);
                peers.push((group_key.to_string(), n));
            } else {
                for v in items(rule.get("security_groups")) {
                    peers.push((group_key.to_string(), self.with_addresses(v)));
                }
            }
            if rule.get("self").map(|v| &v.value) == Some(&Value::Bool(true)) {
                let address = self.resources[index].address.clone();
                peers.push((group_key.to_string(), self.ref_node(line, &address, "id")));
            }
            for (key, peer) in peers {
                let mut entries = base.clone();
                entries.push((key, peer));
                rules.push(entries_node(line, entries));
            }
        }
        rules
    }

    /// A route's destination and target: of an `aws_route` (`n` None), or
    /// of an inline `route` block of an `aws_route_table`.
    fn route_props(&mut self, index: usize, n: Option<usize>) -> Vec<(String, Node)> {
        let fields: [(&str, &str); 11] = [
            ("DestinationCidrBlock", "destination_cidr_block"),
            ("DestinationIpv6CidrBlock", "destination_ipv6_cidr_block"),
            ("DestinationPrefixListId", "destination_prefix_list_id"),
            ("NatGatewayId", "nat_gateway_id"),
            ("GatewayId", "gateway_id"),
            ("VpcEndpointId", "vpc_endpoint_id"),
            ("TransitGatewayId", "transit_gateway_id"),
            ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
            ("NetworkInterfaceId", "network_interface_id"),
            ("EgressOnlyInternetGatewayId", "egress_only_gateway_id"),
            ("InstanceId", "instance_id"),
        ];
        match n {
            None => fields
                .iter()
                .filter_map(|(cfn, tf)| {
                    self.value(index, &[tf], Shape::One)
                        .map(|v| (cfn.to_string(), v))
                })
                .collect(),
            Some(n) => {
                let r = &self.resources[index];
                let module = r.module.clone();
                let Some(route) = r.values.and_then(|v| items(v.get("route")).get(n)).cloned()
                else {
                    return Vec::new();
                };
                let configured = r
                    .expressions
                    .and_then(|e| items(e.get("route")).get(n))
                    .cloned();
                let mut out = Vec::new();
                for (cfn, tf) in fields {
                    // Inline routes name their destination `cidr_block`.
                    let tf = match tf {
                        "destination_cidr_block" => "cidr_block",
                        "destination_ipv6_cidr_block" => "ipv6_cidr_block",
                        "egress_only_gateway_id" => "egress_only_gateway_id",
                        other => other,
                    };
                    let references: Vec<String> = configured
                        .as_ref()
                        .and_then(|c| c.get(tf))
                        .map(|e| items(e.get("references")))
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::as_str)
                        .map(str::to_string)
                        .collect();
                    let line = route.entry(tf).map_or(route.line, |e| e.line);
                    // As planned when known; else the resource the
                    // configuration's block at the same position refers to.
                    if let Some(v) = route
                        .get(tf)
                        .filter(|v| !is_null(v) && v.as_str() != Some(""))
                    {
                        out.push((cfn.to_string(), self.with_addresses(v)));
                        continue;
                    }
                    let Some(first) = references.first() else {
                        continue;
                    };
                    let value = match self.resolve_translated(&module, first) {
                        Ok(found) => match found.into_iter().next() {
                            Some((a, attribute)) => self.ref_node(line, &a, &attribute),
                            None => continue,
                        },
                        Err(why) => self.unresolved_node(line, why),
                    };
                    out.push((cfn.to_string(), value));
                }
                out
            }
        }
    }
}

fn entries_node(line: u32, entries: Vec<(String, Node)>) -> Node {
    node(
        line,
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    line: value.line,
                    value,
                })
                .collect(),
        ),
    )
}

/// A network ACL entry's template properties from its planned values.
fn acl_entry_props(entry: &Node, egress: bool) -> Vec<(String, Node)> {
    let line = entry.line;
    let mut out = Vec::new();
    let get = |key: &str| {
        entry
            .get(key)
            .filter(|v| !is_null(v) && v.as_str() != Some(""))
    };
    // Inline blocks (`rule_no`, `action`) and the rule resource
    // (`rule_number`, `rule_action`) name them differently.
    if let Some(v) = get("rule_no") {
        out.push(("RuleNumber".to_string(), v.clone()));
    }
    if let Some(v) = get("action") {
        out.push(("RuleAction".to_string(), v.clone()));
    }
    if let Some(v) = get("cidr_block") {
        out.push(("CidrBlock".to_string(), v.clone()));
    }
    if let Some(v) = get("ipv6_cidr_block") {
        out.push(("Ipv6CidrBlock".to_string(), v.clone()));
    }
    if let Some(protocol) = get("protocol").and_then(Node::as_str) {
        // CloudFormation's entries take protocol numbers.
        let number = match protocol.to_ascii_lowercase().as_str() {
            "tcp" => "6".to_string(),
            "udp" => "17".to_string(),
            "icmp" => "1".to_string(),
            "all" => "-1".to_string(),
            other => other.to_string(),
        };
        out.push(("Protocol".to_string(), text_node(line, &number)));
    }
    if let (Some(from), Some(to)) = (get("from_port"), get("to_port")) {
        out.push((
            "PortRange".to_string(),
            map_node(line, vec![("From", from.clone()), ("To", to.clone())]),
        ));
    }
    if egress {
        out.push(("Egress".to_string(), node(line, Value::Bool(true))));
    }
    out
}

#[cfg(test)]
mod tests;
