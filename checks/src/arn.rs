//! Amazon Resource Names, parsed in one place:
//! `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).

use std::fmt;

/// The parts of an ARN, borrowed from its text. The region is empty for
/// global services (IAM) and the account for some resources (S3 buckets);
/// the resource keeps its own `:` and `/` (`function:rot:live`,
/// `role/service-role/rot`, `secret:lab/mysql-AbCdEf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, or `None` when it does not start with `arn:` or
    /// has fewer than six `:`-separated parts. The parts are not checked
    /// further: an empty service or resource parses.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }

    /// The resource's type, before its first `:` or `/`: `function`,
    /// `secret`, `role`, `db`, `cluster`, `key`. `None` when the resource
    /// has no separator (`arn:aws:iam::123456789012:root`).
    pub fn resource_type(&self) -> Option<&'a str> {
        self.type_and_id().map(|(kind, _)| kind)
    }

    /// The resource after its type: `rot:live`, `lab/mysql-AbCdEf`,
    /// `service-role/rot`; the whole resource when it has no type.
    pub fn resource_id(&self) -> &'a str {
        self.type_and_id().map_or(self.resource, |(_, id)| id)
    }

    /// A Lambda function's name, without its version or alias:
    /// `arn:aws:lambda:…:function:rot:live` gives `rot`.
    pub fn function_name(&self) -> Option<&'a str> {
        let id = self.typed("lambda", "function")?;
        Some(id.split_once(':').map_or(id, |(name, _)| name))
    }

    /// An IAM role's or policy's name, without its type and path:
    /// `arn:aws:iam::…:role/service-role/rot` gives `rot`, and
    /// `arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole`
    /// gives `AWSLambdaVPCAccessExecutionRole`.
    pub fn iam_name(&self) -> Option<&'a str> {
        if self.service != "iam" {
            return None;
        }
        let id = self.resource_id();
        Some(id.rsplit_once('/').map_or(id, |(_, name)| name))
    }

    /// A secret's name, with the 6-character random suffix Secrets Manager
    /// appends to it: `arn:aws:secretsmanager:…:secret:lab/mysql-AbCdEf`
    /// gives `lab/mysql-AbCdEf`.
    pub fn secret_name(&self) -> Option<&'a str> {
        self.typed("secretsmanager", "secret")
    }

    /// The secret's ARN without that random suffix (what a policy that
    /// names the secret by its name alone holds), or `None` when its name
    /// has no `-` and six characters at the end.
    pub fn without_secret_suffix(&self) -> Option<String> {
        let (_, suffix) = self.secret_name()?.rsplit_once('-')?;
        if suffix.len() != 6 {
            return None;
        }
        let resource = &self.resource[..self.resource.len() - suffix.len() - 1];
        Some(Arn { resource, ..*self }.to_string())
    }

    fn type_and_id(&self) -> Option<(&'a str, &'a str)> {
        let at = self.resource.find([':', '/'])?;
        Some((&self.resource[..at], &self.resource[at + 1..]))
    }

    /// The resource id when the ARN is of `service` and `kind`.
    fn typed(&self, service: &str, kind: &str) -> Option<&'a str> {
        (self.service == service && self.resource_type() == Some(kind)).then(|| self.resource_id())
    }
}

/// The ARN as text again: `Arn::parse(text)` displays as `text`.
impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts() {
        let arn =
            Arn::parse("arn:aws:lambda:eu-west-1:123456789012:function:rot:live").expect("an ARN");
        assert_eq!(arn.partition, "aws");
        assert_eq!(arn.service, "lambda");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "function:rot:live");
        assert_eq!(arn.resource_type(), Some("function"));
        assert_eq!(arn.resource_id(), "rot:live");
        assert_eq!(arn.function_name(), Some("rot"));
        assert_eq!(arn.iam_name(), None);
        assert_eq!(
            arn.to_string(),
            "arn:aws:lambda:eu-west-1:123456789012:function:rot:live"
        );
        assert!(Arn::parse("rot").is_none());
        assert!(Arn::parse("arn:aws:lambda").is_none());
        assert!(Arn::parse("urn:aws:lambda:r:a:function:rot").is_none());
    }

    #[test]
    fn resource_names_by_service() {
        let role = Arn::parse("arn:aws:iam::123456789012:role/service-role/rot").unwrap();
        assert_eq!(role.region, "");
        assert_eq!(role.iam_name(), Some("rot"));
        let policy =
            Arn::parse("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
                .unwrap();
        assert_eq!(policy.account, "aws");
        assert_eq!(policy.iam_name(), Some("AWSLambdaVPCAccessExecutionRole"));
        assert_eq!(role.resource_id(), "service-role/rot");
        let root = Arn::parse("arn:aws:iam::123456789012:root").unwrap();
        assert_eq!((root.resource_type(), root.resource_id()), (None, "root"));
        let db = Arn::parse("arn:aws:rds:us-east-1:123456789012:cluster:lab-aurora").unwrap();
        assert_eq!(
            (db.resource_type(), db.resource_id()),
            (Some("cluster"), "lab-aurora")
        );
        let secret = Arn::parse(
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:lab/my-sql-AbCdEf",
        )
        .unwrap();
        assert_eq!(secret.secret_name(), Some("lab/my-sql-AbCdEf"));
        assert_eq!(
            secret.without_secret_suffix().as_deref(),
            Some("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:lab/my-sql")
        );
        assert_eq!(secret.function_name(), None);
        let short = Arn::parse("arn:aws:secretsmanager:us-east-1:1:secret:lab-Ab").unwrap();
        assert_eq!(short.without_secret_suffix(), None);
    }
}
