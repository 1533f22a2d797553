//! `acl-admin`: add, remove and list ACLs, as kafka-acls.sh does.

use clap::{ArgGroup, Parser};

use serde_json::json;

use super::{ConnectionArgs, OutputFormat};
use crate::client::acl::{
    AclAction, AclBinding, AclBindingFilter, AclOperation, AclSpec, PatternType,
};
use crate::client::admin::Admin;
use crate::client::Result;

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

fn parse_operation(s: &str) -> std::result::Result<AclOperation, String> {
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

/// What the flags ask, checked before connecting, as kafka-acls.sh
/// checks them.
pub enum Plan {
    Add(Vec<AclBinding>),
    /// The filters, and the question asked before removing.
    Remove(Vec<AclBindingFilter>, String),
    List(Vec<AclBindingFilter>),
}

impl Plan {
    /// The plan for `spec`, or why its flags make none (a usage error).
    pub fn of(spec: &AclSpec) -> Result<Plan> {
        spec.validate()?;
        match spec.action {
            AclAction::Add => spec.bindings_to_add().map(Plan::Add),
            AclAction::Remove => Ok(Plan::Remove(
                spec.removal_filters()?,
                spec.removal_question()?,
            )),
            AclAction::List => Ok(Plan::List(spec.list_filters())),
        }
    }
}

/// Carries out a plan (a removal already confirmed); what it prints.
pub async fn run(
    admin: &Admin,
    spec: &AclSpec,
    plan: Plan,
    output: OutputFormat,
) -> Result<String> {
    Ok(match plan {
        Plan::Add(bindings) => {
            admin.create_acls(bindings.clone()).await?;
            render(&bindings, output, |n| format!("Added {}:", count(n)))
        }
        Plan::Remove(filters, _) => {
            let removed = admin.delete_acls(filters).await?;
            render(&removed, output, |n| format!("Removed {}:", count(n)))
        }
        Plan::List(filters) => {
            let found = spec.listed(admin.describe_acls(filters).await?)?;
            render(&found, output, |n| format!("{}:", count(n)))
        }
    })
}

/// The bindings under `title` (given how many) as a table, or as JSON.
pub fn render(
    bindings: &[AclBinding],
    output: OutputFormat,
    title: impl Fn(usize) -> String,
) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(bindings)),
        OutputFormat::Table if bindings.is_empty() => "No ACLs.\n".to_string(),
        OutputFormat::Table => {
            let mut table = super::table(&[
                "RESOURCE_TYPE",
                "NAME",
                "PATTERN_TYPE",
                "PRINCIPAL",
                "HOST",
                "OPERATION",
                "PERMISSION",
            ]);
            for b in bindings {
                table.add_row(vec![
                    b.pattern.resource_type.to_string(),
                    b.pattern.name.clone().unwrap_or_default(),
                    b.pattern.pattern_type.to_string(),
                    b.entry.principal.clone(),
                    b.entry.host.clone(),
                    b.entry.operation.to_string(),
                    b.entry.permission_type.to_string(),
                ]);
            }
            format!("{}\n{}", title(bindings.len()), super::table_text(&table))
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 ACL".to_string()
    } else {
        format!("{n} ACLs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<AclAdmin, clap::Error> {
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

    fn spec(args: &[&str]) -> AclSpec {
        parse(args).unwrap().spec()
    }

    #[test]
    fn mistakes_are_found_before_connecting() {
        assert!(Plan::of(&spec(&["--add", "--topic", "t"])).is_err());
        let Ok(Plan::Add(bindings)) = Plan::of(&spec(&[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "orders",
        ])) else {
            panic!("an add plan");
        };
        assert_eq!(bindings.len(), 1);
        let Ok(Plan::Remove(_, question)) = Plan::of(&spec(&["--remove", "--topic", "orders"]))
        else {
            panic!("a remove plan");
        };
        assert!(question.contains("orders"), "{question}");
        assert!(matches!(Plan::of(&spec(&["--list"])), Ok(Plan::List(_))));
    }

    #[test]
    fn bindings_are_counted_and_tabled() {
        let Ok(Plan::Add(bindings)) = Plan::of(&spec(&[
            "--add",
            "--allow-principal",
            "User:alice",
            "--operation",
            "Read",
            "--topic",
            "orders",
        ])) else {
            panic!("an add plan");
        };
        let added = |n| format!("Added {}:", count(n));
        let text = render(&bindings, OutputFormat::Table, added);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Added 1 ACL:");
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            [
                "TOPIC",
                "orders",
                "LITERAL",
                "User:alice",
                "*",
                "READ",
                "ALLOW"
            ]
        );
        assert_eq!(count(2), "2 ACLs");
        assert_eq!(render(&[], OutputFormat::Table, added), "No ACLs.\n");
        let json: serde_json::Value =
            serde_json::from_str(&render(&bindings, OutputFormat::Json, added)).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(1));
    }
}
