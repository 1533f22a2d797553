//! `acl-admin`: add, remove and list ACLs, as kafka-acls.sh does.

use clap::{ArgGroup, Parser};

use super::{ConnectionArgs, OutputFormat};
use crate::client::acl::{AclAction, AclOperation, AclSpec, PatternType};

/// Add, remove and list ACLs, with kafka-acls.sh's flags.
///
/// ACLs are added on LITERAL or PREFIXED resource patterns; --list and --remove take those or the filters ANY (any pattern type, this exact name) and MATCH (every ACL that applies to the name). DENY wins over ALLOW. --producer allows WRITE, DESCRIBE and CREATE on the topics (WRITE and DESCRIBE on --transactional-id, IDEMPOTENT_WRITE on the cluster with --idempotent); --consumer allows READ and DESCRIBE on the topics and READ on the group.
#[derive(Parser, Debug)]
#[command(name = "acl-admin", version)]
#[command(group(ArgGroup::new("action").required(true).args(["add", "remove", "list"])))]
pub struct AclAdmin {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Add the ACLs the other flags describe.
    #[arg(long)]
    pub add: bool,
    /// Remove the ACLs the other flags describe; without a principal, every ACL of the named resources.
    #[arg(long)]
    pub remove: bool,
    /// List the ACLs of the named resources, or all of them.
    #[arg(long)]
    pub list: bool,

    /// A topic, repeatable; '*' is every topic.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Vec<String>,
    /// A consumer group, repeatable; '*' is every group.
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// A transactional id, repeatable; '*' is every transactional id.
    #[arg(long, value_name = "ID")]
    pub transactional_id: Vec<String>,
    /// The cluster resource.
    #[arg(long)]
    pub cluster: bool,
    /// A user principal as the resource (Type:name), repeatable: CreateTokens and DescribeTokens are granted on it.
    #[arg(long, value_name = "PRINCIPAL")]
    pub user_principal: Vec<String>,
    /// A delegation token id as the resource, repeatable; '*' is every token.
    #[arg(long, value_name = "TOKEN_ID")]
    pub delegation_token: Vec<String>,
    /// How resource names match: literal or prefixed patterns; with --list and --remove also the filters any and match.
    #[arg(long, value_enum, ignore_case = true, default_value_t = PatternArg::Literal)]
    pub resource_pattern_type: PatternArg,

    /// An operation to allow or deny, repeatable (All when left out): All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens; case-insensitive.
    #[arg(long, value_name = "OPERATION", value_parser = parse_operation)]
    pub operation: Vec<AclOperation>,
    /// A principal to allow, as Type:name (User:alice; User:* is every user), repeatable.
    #[arg(long, value_name = "PRINCIPAL")]
    pub allow_principal: Vec<String>,
    /// A principal to deny, as Type:name, repeatable; a DENY wins over any ALLOW.
    #[arg(long, value_name = "PRINCIPAL")]
    pub deny_principal: Vec<String>,
    /// A host the allowed principals may connect from, repeatable (* when left out).
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// A host the denied principals are denied from, repeatable (* when left out).
    #[arg(long, value_name = "HOST")]
    pub deny_host: Vec<String>,
    /// With --list, only this principal's ACLs, repeatable.
    #[arg(long, value_name = "PRINCIPAL")]
    pub principal: Vec<String>,

    /// The producer's ACLs: WRITE, DESCRIBE and CREATE on --topic, WRITE and DESCRIBE on --transactional-id.
    #[arg(long)]
    pub producer: bool,
    /// With --producer, also IDEMPOTENT_WRITE on the cluster.
    #[arg(long)]
    pub idempotent: bool,
    /// The consumer's ACLs: READ and DESCRIBE on --topic, READ on --group.
    #[arg(long)]
    pub consumer: bool,

    /// Remove without asking for confirmation.
    #[arg(long, visible_alias = "yes")]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Short for --output json.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternArg {
    /// The resource named exactly.
    Literal,
    /// Every resource whose name starts with the given one.
    Prefixed,
    /// (filter) Any pattern type with exactly this name.
    Any,
    /// (filter) Every ACL that applies to this name: literal, wildcard and prefixed.
    Match,
}

fn parse_operation(s: &str) -> Result<AclOperation, String> {
    s.parse()
}

impl AclAdmin {
    pub fn output(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }

    /// The flags in the client library's terms.
    pub fn spec(&self) -> AclSpec {
        let action = if self.add {
            AclAction::Add
        } else if self.remove {
            AclAction::Remove
        } else {
            AclAction::List
        };
        AclSpec {
            action,
            topics: self.topic.clone(),
            groups: self.group.clone(),
            transactional_ids: self.transactional_id.clone(),
            user_principals: self.user_principal.clone(),
            delegation_tokens: self.delegation_token.clone(),
            cluster: self.cluster,
            pattern_type: match self.resource_pattern_type {
                PatternArg::Literal => PatternType::Literal,
                PatternArg::Prefixed => PatternType::Prefixed,
                PatternArg::Any => PatternType::Any,
                PatternArg::Match => PatternType::Match,
            },
            operations: self.operation.clone(),
            allow_principals: self.allow_principal.clone(),
            deny_principals: self.deny_principal.clone(),
            allow_hosts: self.allow_host.clone(),
            deny_hosts: self.deny_host.clone(),
            principals: self.principal.clone(),
            producer: self.producer,
            consumer: self.consumer,
            idempotent: self.idempotent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<AclAdmin, clap::Error> {
        AclAdmin::try_parse_from(std::iter::once("acl-admin").chain(args.iter().copied()))
    }

    #[test]
    fn flags_become_the_spec_kafka_acls_would_build() {
        let args = parse(&[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "read",
            "--operation",
            "DescribeConfigs",
            "--topic",
            "orders",
            "--resource-pattern-type",
            "PREFIXED",
        ])
        .unwrap();
        let spec = args.spec();
        assert_eq!(spec.action, AclAction::Add);
        assert_eq!(
            spec.operations,
            [AclOperation::Read, AclOperation::DescribeConfigs]
        );
        assert_eq!(spec.pattern_type, PatternType::Prefixed);
        assert_eq!(args.output(), OutputFormat::Table);
        assert_eq!(
            parse(&["--list", "--json"]).unwrap().output(),
            OutputFormat::Json
        );
    }

    #[test]
    fn exactly_one_action_and_known_operations() {
        assert!(parse(&["--topic", "t"]).is_err());
        assert!(parse(&["--add", "--list"]).is_err());
        let bad = parse(&["--add", "--operation", "Reed"])
            .unwrap_err()
            .to_string();
        assert!(bad.contains("unknown operation 'Reed'"), "{bad}");
        assert!(parse(&["--list", "--resource-pattern-type", "glob"]).is_err());
    }
}
