//! Kafka's StandardAuthorizer: whether a principal, connected from a host,
//! may perform an operation on a resource, decided by the ACLs kept in the
//! metadata quorum. Super users may do everything; a matching DENY wins
//! over any ALLOW; ALLOW READ, WRITE, DELETE or ALTER also allow DESCRIBE,
//! ALLOW ALTER_CONFIGS also allows DESCRIBE_CONFIGS, ALL anything; a
//! resource no ACL names at all is open only with
//! `allow.everyone.if.no.acl.found`.
//!
//! Every decision is written to the audit log, as Kafka's
//! `kafka.authorizer.logger`: the tracing target [`AUDIT_TARGET`] (so that
//! `RUST_LOG=kafka.authorizer.logger=debug` routes it), a denial at INFO
//! and an allowance at DEBUG, each at TRACE instead when Kafka's Action
//! would not log it (`logIfDenied` false for a listing that leaves out what
//! may not be seen, `logIfAllowed` false for authorized-operations bits,
//! which grant nothing).
//!
//! The ACLs are indexed by resource type and name (literal names in a
//! hash map, prefixes by the lengths there are), so a check costs a few
//! lookups however many ACLs the cluster holds. The index is rebuilt only
//! when the metadata image it came from changes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use super::acl::{
    AccessControlEntry, AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType,
    CLUSTER_NAME, WILDCARD, WILDCARD_PRINCIPAL,
};
use super::KafkaPrincipal;

/// The audit log's tracing target, Kafka's logger name.
pub const AUDIT_TARGET: &str = "kafka.authorizer.logger";

/// Kafka's KRaft authorizer class; the only one there is here.
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// The ZooKeeper-era class name, accepted for existing configurations:
/// it behaves as the standard one.
pub const ACL_AUTHORIZER: &str = "kafka.security.authorizer.AclAuthorizer";

/// How authorisation is configured (`authorizer.class.name`,
/// `super.users`, `allow.everyone.if.no.acl.found`).
#[derive(Debug, Clone, Default)]
pub struct AuthorizerSettings {
    pub enabled: bool,
    pub super_users: HashSet<String>,
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthorizerSettings {
    /// `super.users` as Kafka reads it: principals separated by semicolons.
    pub fn parse_super_users(value: &str) -> HashSet<String> {
        value
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The ACLs that name one resource type.
#[derive(Debug, Default)]
struct TypeAcls {
    literal: HashMap<String, Vec<AccessControlEntry>>,
    prefixed: HashMap<String, Vec<AccessControlEntry>>,
    /// The byte lengths of the prefixes in `prefixed`: a name is looked up
    /// only at those lengths.
    prefix_lengths: BTreeSet<usize>,
    /// Every ACL of the type, for checks on any resource of it.
    all: Vec<AclBinding>,
}

impl TypeAcls {
    /// The entries of every ACL whose pattern covers `name`.
    fn covering<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a AccessControlEntry> {
        let literal = self.literal.get(name).into_iter().flatten();
        let wildcard = (name != WILDCARD)
            .then(|| self.literal.get(WILDCARD))
            .flatten()
            .into_iter()
            .flatten();
        let prefixed = self
            .prefix_lengths
            .iter()
            .take_while(move |len| **len <= name.len())
            .filter_map(move |len| name.get(..*len))
            .filter_map(move |prefix| self.prefixed.get(prefix))
            .flatten();
        literal.chain(wildcard).chain(prefixed)
    }
}

/// The ACLs of one metadata image, indexed.
#[derive(Debug, Default)]
pub struct AclIndex {
    by_type: HashMap<ResourceType, TypeAcls>,
}

impl AclIndex {
    pub fn build<'a>(acls: impl IntoIterator<Item = &'a AclBinding>) -> AclIndex {
        let mut by_type: HashMap<ResourceType, TypeAcls> = HashMap::new();
        for acl in acls {
            let t = by_type.entry(acl.pattern.resource_type).or_default();
            let name = acl.pattern.name.clone();
            match acl.pattern.pattern_type {
                PatternType::Literal => t.literal.entry(name).or_default().push(acl.entry.clone()),
                PatternType::Prefixed => {
                    t.prefix_lengths.insert(name.len());
                    t.prefixed.entry(name).or_default().push(acl.entry.clone());
                }
                // Never stored: creation admits only LITERAL and PREFIXED.
                _ => continue,
            }
            t.all.push(acl.clone());
        }
        AclIndex { by_type }
    }
}

/// The broker's authorizer: its settings and the index of the last image.
#[derive(Debug)]
pub struct Authorizer {
    settings: Arc<AuthorizerSettings>,
    /// The image version the index was built from, and the index.
    index: parking_lot::RwLock<(Option<u64>, Arc<AclIndex>)>,
}

impl Authorizer {
    pub fn new(settings: AuthorizerSettings) -> Authorizer {
        Authorizer {
            settings: Arc::new(settings),
            index: parking_lot::RwLock::new((None, Arc::new(AclIndex::default()))),
        }
    }

    /// Whether an authorizer is configured (`authorizer.class.name`).
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The decisions for one request: `acls` are those of the image at
    /// `version`, indexed again only if the version is new. Without an
    /// authorizer nothing is looked at or copied.
    pub fn session(
        &self,
        version: u64,
        acls: &BTreeMap<Uuid, AclBinding>,
        principal: &KafkaPrincipal,
        host: IpAddr,
    ) -> Authorization {
        if !self.settings.enabled {
            return Authorization {
                settings: self.settings.clone(),
                index: self.index.read().1.clone(),
                principal: String::new(),
                host: String::new(),
                ip: host,
                super_user: false,
                request: None,
            };
        }
        let cached = {
            let cached = self.index.read();
            (cached.0 == Some(version)).then(|| cached.1.clone())
        };
        let index = cached.unwrap_or_else(|| {
            let mut cached = self.index.write();
            if cached.0 != Some(version) {
                *cached = (Some(version), Arc::new(AclIndex::build(acls.values())));
            }
            cached.1.clone()
        });
        let principal = principal.to_string();
        Authorization {
            super_user: self.settings.super_users.contains(&principal),
            settings: self.settings.clone(),
            index,
            principal,
            host: host.to_canonical().to_string(),
            ip: host.to_canonical(),
            request: None,
        }
    }
}

/// Why a decision went the way it did, for the audit log.
enum Rule<'a> {
    SuperUser,
    Acl(&'a AccessControlEntry),
    /// No ACL names the resource: `allow.everyone.if.no.acl.found` decides.
    NoAcl,
    /// ACLs name the resource, none allows this.
    NoMatchingAllow,
}

impl std::fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::SuperUser => f.write_str("SuperUser"),
            Rule::Acl(e) => write!(
                f,
                "MatchingAcl({} {} {} from host {})",
                e.principal, e.permission, e.operation, e.host
            ),
            Rule::NoAcl => f.write_str("DefaultRule(no ACL found, allow.everyone.if.no.acl.found)"),
            Rule::NoMatchingAllow => f.write_str("DefaultRule(no matching ALLOW ACL)"),
        }
    }
}

/// Which outcomes of a check Kafka's Action logs at their own level.
#[derive(Clone, Copy)]
struct Audit {
    log_if_allowed: bool,
    log_if_denied: bool,
}

/// What one principal from one host may do, against one set of ACLs.
#[derive(Debug, Clone)]
pub struct Authorization {
    settings: Arc<AuthorizerSettings>,
    index: Arc<AclIndex>,
    principal: String,
    /// The client's IP as Rust writes it, and parsed: an ACL may write the
    /// same address otherwise (Java writes `0:0:0:0:0:0:0:1` for `::1`).
    host: String,
    ip: IpAddr,
    super_user: bool,
    /// The API asking, named in the audit log.
    request: Option<kafka_protocol::messages::ApiKey>,
}

impl Authorization {
    /// Names the API the decisions are for in the audit log.
    pub fn for_request(mut self, key: i16) -> Authorization {
        self.request = kafka_protocol::messages::ApiKey::try_from(key).ok();
        self
    }

    fn host_matches(&self, acl_host: &str) -> bool {
        acl_host == WILDCARD
            || acl_host == self.host
            || acl_host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical() == self.ip)
    }

    /// Kafka's `StandardAuthorizerData.findResult` for one ACL whose
    /// pattern covers the resource: None when it does not apply to this
    /// principal, host and operation.
    fn result(&self, op: AclOperation, acl: &AccessControlEntry) -> Option<AclPermissionType> {
        if acl.principal != self.principal && acl.principal != WILDCARD_PRINCIPAL {
            return None;
        }
        if !self.host_matches(&acl.host) {
            return None;
        }
        if acl.operation != AclOperation::All {
            let applies = match (acl.permission, op) {
                // Only ALLOW ACLs imply other operations: DENY READ does not deny DESCRIBE.
                (AclPermissionType::Allow, AclOperation::Describe) => matches!(
                    acl.operation,
                    AclOperation::Describe
                        | AclOperation::Read
                        | AclOperation::Write
                        | AclOperation::Delete
                        | AclOperation::Alter
                ),
                (AclPermissionType::Allow, AclOperation::DescribeConfigs) => matches!(
                    acl.operation,
                    AclOperation::DescribeConfigs | AclOperation::AlterConfigs
                ),
                _ => acl.operation == op,
            };
            if !applies {
                return None;
            }
        }
        Some(acl.permission)
    }

    /// Whether the principal may perform `op` on the named resource.
    pub fn allows(&self, op: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        self.check(
            op,
            resource_type,
            name,
            Audit {
                log_if_allowed: true,
                log_if_denied: true,
            },
        )
    }

    /// As [`Authorization::allows`], for a listing that leaves out what the
    /// principal may not see (every topic in Metadata): a denial was not
    /// asked for, and is logged at TRACE only.
    pub fn filters(&self, op: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        self.check(
            op,
            resource_type,
            name,
            Audit {
                log_if_allowed: true,
                log_if_denied: false,
            },
        )
    }

    fn check(
        &self,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
        audit: Audit,
    ) -> bool {
        if !self.settings.enabled {
            return true;
        }
        let (allowed, rule) = self.decide(op, resource_type, name);
        self.audit(op, resource_type, name, allowed, &rule, audit);
        allowed
    }

    fn decide<'a>(
        &'a self,
        op: AclOperation,
        resource_type: ResourceType,
        name: &'a str,
    ) -> (bool, Rule<'a>) {
        if self.super_user {
            return (true, Rule::SuperUser);
        }
        let Some(acls) = self.index.by_type.get(&resource_type) else {
            return (self.settings.allow_everyone_if_no_acl_found, Rule::NoAcl);
        };
        let mut any_acl = false;
        let mut allowed = None;
        for acl in acls.covering(name) {
            any_acl = true;
            match self.result(op, acl) {
                Some(AclPermissionType::Deny) => return (false, Rule::Acl(acl)),
                Some(AclPermissionType::Allow) => allowed = allowed.or(Some(acl)),
                _ => {}
            }
        }
        match allowed {
            Some(acl) => (true, Rule::Acl(acl)),
            None if !any_acl => (self.settings.allow_everyone_if_no_acl_found, Rule::NoAcl),
            None => (false, Rule::NoMatchingAllow),
        }
    }

    /// One line of Kafka's audit log.
    fn audit(
        &self,
        op: AclOperation,
        resource_type: ResourceType,
        name: &str,
        allowed: bool,
        rule: &Rule<'_>,
        audit: Audit,
    ) {
        let principal = self.principal.as_str();
        let host = self.host.as_str();
        // Formatted only when the level is on: checks run on every request.
        macro_rules! line {
            ($level:ident, $level_const:ident, $outcome:literal) => {
                if tracing::enabled!(target: AUDIT_TARGET, tracing::Level::$level_const) {
                    let request = self.request.map(|k| format!("{k:?}"));
                    let request = request.as_deref().unwrap_or("-");
                    let resource = format!("{resource_type}:LITERAL:{name}");
                    tracing::$level!(
                        target: AUDIT_TARGET,
                        principal,
                        host,
                        operation = %op,
                        %resource,
                        request,
                        rule = %rule,
                        "Principal = {principal} is {} Operation = {op} from host = {host} on resource = {resource} for request = {request} based on rule {rule}",
                        $outcome
                    )
                }
            };
        }
        match (allowed, audit.log_if_allowed, audit.log_if_denied) {
            (true, true, _) => line!(debug, DEBUG, "Allowed"),
            (true, false, _) => line!(trace, TRACE, "Allowed"),
            (false, _, true) => line!(info, INFO, "Denied"),
            (false, _, false) => line!(trace, TRACE, "Denied"),
        }
    }

    pub fn allows_cluster(&self, op: AclOperation) -> bool {
        self.allows(op, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Kafka's `Authorizer.authorizeByResourceType`: whether the principal
    /// may perform `op` on at least one resource of the type, e.g. WRITE on
    /// some topic for an idempotent producer. Only ACLs naming `op` itself
    /// (or ALL) count; a DENY on `*`, or a DENY covering every name an
    /// ALLOW covers, leaves nothing allowed.
    pub fn allows_any(&self, op: AclOperation, resource_type: ResourceType) -> bool {
        // A name no ACL is likely to cover, as Kafka's "hardcode": super
        // users, and everyone where no ACL applies and that is allowed.
        if self.filters(op, resource_type, "hardcode") {
            return true;
        }
        let Some(acls) = self.index.by_type.get(&resource_type) else {
            return false;
        };
        let mut deny_literal = HashSet::new();
        let mut deny_prefixed = HashSet::new();
        let mut allow_literal = Vec::new();
        let mut allow_prefixed = Vec::new();
        for acl in &acls.all {
            let e = &acl.entry;
            if !self.host_matches(&e.host) {
                continue;
            }
            if e.principal != self.principal && e.principal != WILDCARD_PRINCIPAL {
                continue;
            }
            if e.operation != op && e.operation != AclOperation::All {
                continue;
            }
            let name = acl.pattern.name.as_str();
            match (e.permission, acl.pattern.pattern_type) {
                (AclPermissionType::Deny, PatternType::Literal) if name == WILDCARD => {
                    return false
                }
                (AclPermissionType::Deny, PatternType::Literal) => {
                    deny_literal.insert(name);
                }
                (AclPermissionType::Deny, PatternType::Prefixed) => {
                    deny_prefixed.insert(name);
                }
                (AclPermissionType::Allow, PatternType::Literal) if name == WILDCARD => {
                    return true
                }
                (AclPermissionType::Allow, PatternType::Literal) => allow_literal.push(name),
                (AclPermissionType::Allow, PatternType::Prefixed) => allow_prefixed.push(name),
                _ => {}
            }
        }
        let denied_by_prefix = |name: &str| {
            name.char_indices()
                .map(|(i, c)| &name[..i + c.len_utf8()])
                .any(|prefix| deny_prefixed.contains(prefix))
        };
        allow_literal
            .iter()
            .any(|name| !deny_literal.contains(name) && !denied_by_prefix(name))
            || allow_prefixed.iter().any(|name| !denied_by_prefix(name))
    }

    /// Kafka's authorized-operations bit field for a resource (bit n set
    /// when operation code n is allowed), as Metadata and the Describe
    /// APIs return it when asked.
    pub fn authorized_operations(&self, resource_type: ResourceType, name: &str) -> i32 {
        // Grants nothing: logged at TRACE either way, as Kafka's Action
        // with logIfAllowed and logIfDenied false.
        let quiet = Audit {
            log_if_allowed: false,
            log_if_denied: false,
        };
        AclOperation::of_resource(resource_type)
            .iter()
            .filter(|op| self.check(**op, resource_type, name, quiet))
            .fold(0, |bits, op| bits | (1 << op.code()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::acl::ResourcePattern;

    fn acl(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
        principal: &str,
        host: &str,
        operation: AclOperation,
        permission: AclPermissionType,
    ) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type,
                name: name.into(),
                pattern_type,
            },
            entry: AccessControlEntry {
                principal: principal.into(),
                host: host.into(),
                operation,
                permission,
            },
        }
    }

    fn topic(name: &str, principal: &str, op: AclOperation, perm: AclPermissionType) -> AclBinding {
        acl(
            ResourceType::Topic,
            name,
            PatternType::Literal,
            principal,
            "*",
            op,
            perm,
        )
    }

    fn session_with(
        settings: AuthorizerSettings,
        acls: &[AclBinding],
        principal: &str,
        host: &str,
    ) -> Authorization {
        let map: BTreeMap<Uuid, AclBinding> =
            acls.iter().map(|a| (Uuid::new_v4(), a.clone())).collect();
        Authorizer::new(settings).session(
            1,
            &map,
            &principal.parse().unwrap(),
            host.parse().unwrap(),
        )
    }

    fn session(acls: &[AclBinding], principal: &str) -> Authorization {
        let settings = AuthorizerSettings {
            enabled: true,
            ..Default::default()
        };
        session_with(settings, acls, principal, "10.0.0.1")
    }

    use AclOperation::*;
    use AclPermissionType::{Allow, Deny};
    use ResourceType::{Cluster, Group, Topic};

    #[test]
    fn without_an_authorizer_everything_is_allowed() {
        let acls = [topic("t", "User:bob", Read, Deny)];
        let s = session_with(AuthorizerSettings::default(), &acls, "User:bob", "10.0.0.1");
        assert!(s.allows(Read, Topic, "t") && s.allows_cluster(Alter));
    }

    #[test]
    fn no_acl_denies_unless_everyone_is_allowed() {
        let s = session(&[], "User:alice");
        assert!(!s.allows(Read, Topic, "t"));
        assert!(!s.allows_cluster(Describe));
        let open = AuthorizerSettings {
            enabled: true,
            allow_everyone_if_no_acl_found: true,
            ..Default::default()
        };
        // An ACL for someone else on the resource closes it to everyone else.
        let acls = [topic("t", "User:bob", Read, Allow)];
        let s = session_with(open, &acls, "User:alice", "10.0.0.1");
        assert!(!s.allows(Read, Topic, "t"));
        assert!(s.allows(Read, Topic, "other"));
        assert!(s.allows(Read, Group, "t"));
    }

    #[test]
    fn deny_wins_and_super_users_pass() {
        let acls = [
            topic("t", "User:alice", Read, Allow),
            topic("t", "User:*", Read, Deny),
        ];
        assert!(!session(&acls, "User:alice").allows(Read, Topic, "t"));
        let supers = AuthorizerSettings {
            enabled: true,
            super_users: AuthorizerSettings::parse_super_users(" User:admin ; User:alice"),
            ..Default::default()
        };
        let s = session_with(supers, &acls, "User:alice", "10.0.0.1");
        assert!(s.allows(Read, Topic, "t") && s.allows_cluster(ClusterAction));
    }

    #[test]
    fn operations_imply_describe_only_when_allowed() {
        let acls = [
            topic("r", "User:alice", Read, Allow),
            topic("c", "User:alice", AlterConfigs, Allow),
            topic("a", "User:alice", All, Allow),
            topic("d", "User:alice", Read, Deny),
            topic("d", "User:alice", Describe, Allow),
        ];
        let s = session(&acls, "User:alice");
        assert!(s.allows(Describe, Topic, "r") && !s.allows(Write, Topic, "r"));
        assert!(s.allows(DescribeConfigs, Topic, "c") && !s.allows(Describe, Topic, "c"));
        assert!(s.allows(Delete, Topic, "a") && s.allows(Describe, Topic, "a"));
        // DENY READ does not deny DESCRIBE.
        assert!(s.allows(Describe, Topic, "d") && !s.allows(Read, Topic, "d"));
        assert_eq!(
            s.authorized_operations(Topic, "r"),
            (1 << Read.code()) | (1 << Describe.code())
        );
    }

    #[test]
    fn prefixes_wildcards_and_hosts_match() {
        let acls = [
            acl(
                Topic,
                "pay",
                PatternType::Prefixed,
                "User:alice",
                "*",
                Write,
                Allow,
            ),
            acl(
                Topic,
                "payroll",
                PatternType::Prefixed,
                "User:alice",
                "*",
                Write,
                Deny,
            ),
            topic("*", "User:alice", Read, Allow),
            acl(
                Group,
                "g",
                PatternType::Literal,
                "User:alice",
                "10.0.0.9",
                Read,
                Allow,
            ),
        ];
        let s = session(&acls, "User:alice");
        assert!(s.allows(Write, Topic, "payments"));
        assert!(s.allows(Write, Topic, "pay"));
        assert!(!s.allows(Write, Topic, "payroll-eu"));
        assert!(!s.allows(Write, Topic, "pa"));
        assert!(s.allows(Read, Topic, "anything"));
        // The literal "*" ACL does not cover a prefix ACL's name literally.
        assert!(!s.allows(Read, Group, "g"));
        let settings = AuthorizerSettings {
            enabled: true,
            ..Default::default()
        };
        let from_there = session_with(settings.clone(), &acls, "User:alice", "10.0.0.9");
        assert!(from_there.allows(Read, Group, "g"));
        // The same address however it is written.
        let local = [acl(
            Group,
            "g",
            PatternType::Literal,
            "User:alice",
            "0:0:0:0:0:0:0:1",
            Read,
            Allow,
        )];
        assert!(session_with(settings, &local, "User:alice", "::1").allows(Read, Group, "g"));
        // A literal ACL does not match names it is only a prefix of.
        let s = session(&[topic("ab", "User:alice", Read, Allow)], "User:alice");
        assert!(!s.allows(Read, Topic, "abc"));
    }

    #[test]
    fn any_resource_of_a_type() {
        let s = session(&[topic("t", "User:alice", Write, Allow)], "User:alice");
        assert!(s.allows_any(Write, Topic));
        assert!(!s.allows_any(Read, Topic));
        let acls = [
            topic("t", "User:alice", Write, Allow),
            acl(
                Topic,
                "t",
                PatternType::Prefixed,
                "User:alice",
                "*",
                Write,
                Deny,
            ),
        ];
        assert!(!session(&acls, "User:alice").allows_any(Write, Topic));
        let acls = [
            topic("t", "User:alice", Write, Allow),
            topic("*", "User:*", Write, Deny),
        ];
        assert!(!session(&acls, "User:alice").allows_any(Write, Topic));
        assert!(!session(&[], "User:alice").allows_any(Write, Topic));
        let s = session(
            &[acl(
                Cluster,
                CLUSTER_NAME,
                PatternType::Literal,
                "User:alice",
                "*",
                IdempotentWrite,
                Allow,
            )],
            "User:alice",
        );
        assert!(s.allows_cluster(IdempotentWrite));
    }
}
