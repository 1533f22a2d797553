//! Kafka's ACL model: resource patterns, access control entries, the
//! bindings that pair them and the filters CreateAcls / DescribeAcls /
//! DeleteAcls carry, with Kafka's wire codes and matching rules
//! (`org.apache.kafka.common.acl` and `org.apache.kafka.common.resource`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The only name a CLUSTER resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// A LITERAL resource name, or an ACL host, that matches every name or host.
pub const WILDCARD: &str = "*";

/// The principal that matches every user in an ACL.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// A code this broker does not know reads as UNKNOWN, as in Kafka.
            pub fn from_code(code: i8) -> $name {
                match code {
                    $($code => $name::$variant,)+
                    _ => $name::Unknown,
                }
            }

            /// Kafka's name (`TRANSACTIONAL_ID`, `PREFIXED`...).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// Kafka's names in any case, `-` or `_` alike.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_uppercase().replace('-', "_");
                $name::ALL_VALUES
                    .iter()
                    .copied()
                    .find(|v| v.name() == wanted && *v != $name::Unknown)
                    .ok_or_else(|| format!("unknown {} '{}'", stringify!($name), s.trim()))
            }
        }
    };
}

wire_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Topic = 2 => "TOPIC",
        Group = 3 => "GROUP",
        Cluster = 4 => "CLUSTER",
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        DelegationToken = 6 => "DELEGATION_TOKEN",
        User = 7 => "USER",
    }
);

wire_enum!(
    /// Kafka's `PatternType`: ANY and MATCH appear only in filters.
    PatternType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Match = 2 => "MATCH",
        Literal = 3 => "LITERAL",
        Prefixed = 4 => "PREFIXED",
    }
);

wire_enum!(
    /// Kafka's `AclOperation`.
    AclOperation {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        All = 2 => "ALL",
        Read = 3 => "READ",
        Write = 4 => "WRITE",
        Create = 5 => "CREATE",
        Delete = 6 => "DELETE",
        Alter = 7 => "ALTER",
        Describe = 8 => "DESCRIBE",
        ClusterAction = 9 => "CLUSTER_ACTION",
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        AlterConfigs = 11 => "ALTER_CONFIGS",
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        CreateTokens = 13 => "CREATE_TOKENS",
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
    }
);

wire_enum!(
    /// Kafka's `AclPermissionType`.
    AclPermissionType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Deny = 2 => "DENY",
        Allow = 3 => "ALLOW",
    }
);

impl AclOperation {
    /// The operations a resource type has, for the authorized-operations
    /// bit sets Metadata and the Describe APIs return (Kafka's
    /// `ResourceType` operation lists, ALL excluded).
    pub fn of_resource(resource_type: ResourceType) -> &'static [AclOperation] {
        use AclOperation::*;
        match resource_type {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            // DESCRIBE_CONFIGS and ALTER_CONFIGS since KIP-848 group configs.
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Unknown | ResourceType::Any => &[],
        }
    }
}

/// What an ACL applies to: a resource type and a name, taken literally
/// (`*` matching every name) or as a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern_type: PatternType,
}

/// Who may (or may not) do what from where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessControlEntry {
    /// `Type:name`, as Kafka writes principals (`User:alice`, `User:*`).
    pub principal: String,
    /// An IP address as the client's is written, or `*`.
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

/// One ACL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclBinding {
    pub pattern: ResourcePattern,
    pub entry: AccessControlEntry,
}

impl fmt::Display for AclBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(resource {}:{}:{}, {} {} {} from {})",
            self.pattern.resource_type,
            self.pattern.pattern_type,
            self.pattern.name,
            self.entry.principal,
            self.entry.permission,
            self.entry.operation,
            self.entry.host
        )
    }
}

/// Kafka's `AclBindingFilter`: every field may be ANY (or None for the
/// strings); MATCH on the pattern type finds the ACLs that would apply to
/// the named resource (its LITERAL ACLs, the `*` ones and the PREFIXED
/// ones whose prefix it starts with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclBindingFilter {
    pub resource_type: ResourceType,
    pub name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

impl AclBindingFilter {
    /// The filter that matches every ACL.
    pub fn any() -> AclBindingFilter {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermissionType::Any,
        }
    }

    pub fn matches_pattern(&self, pattern: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != pattern.resource_type {
            return false;
        }
        if !matches!(self.pattern_type, PatternType::Any | PatternType::Match)
            && self.pattern_type != pattern.pattern_type
        {
            return false;
        }
        let Some(name) = &self.name else {
            return true;
        };
        if self.pattern_type == PatternType::Any || self.pattern_type == pattern.pattern_type {
            return *name == pattern.name;
        }
        match pattern.pattern_type {
            PatternType::Literal => *name == pattern.name || pattern.name == WILDCARD,
            PatternType::Prefixed => name.starts_with(&pattern.name),
            _ => false,
        }
    }

    pub fn matches_entry(&self, entry: &AccessControlEntry) -> bool {
        if self
            .principal
            .as_ref()
            .is_some_and(|p| *p != entry.principal)
        {
            return false;
        }
        if self.host.as_ref().is_some_and(|h| *h != entry.host) {
            return false;
        }
        if self.operation != AclOperation::Any && self.operation != entry.operation {
            return false;
        }
        self.permission == AclPermissionType::Any || self.permission == entry.permission
    }

    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(&binding.pattern) && self.matches_entry(&binding.entry)
    }

    /// Kafka's `AclControlManager.validateFilter`: a filter with an
    /// UNKNOWN field (a code this broker does not know) is refused with
    /// INVALID_REQUEST rather than taken to match nothing.
    pub fn validate(&self) -> Result<(), String> {
        if self.resource_type == ResourceType::Unknown || self.pattern_type == PatternType::Unknown
        {
            return Err("Unknown patternFilter.".into());
        }
        if self.operation == AclOperation::Unknown || self.permission == AclPermissionType::Unknown
        {
            return Err("Unknown entryFilter.".into());
        }
        Ok(())
    }
}

/// Kafka's checks on an ACL to create (`AclControlManager.validateNewAcl`
/// and the broker's CLUSTER name check); the message goes back with
/// INVALID_REQUEST.
pub fn validate_new(binding: &AclBinding) -> Result<(), String> {
    let p = &binding.pattern;
    let e = &binding.entry;
    if matches!(p.resource_type, ResourceType::Unknown | ResourceType::Any) {
        return Err(format!("Invalid resourceType {}", p.resource_type));
    }
    if !matches!(p.pattern_type, PatternType::Literal | PatternType::Prefixed) {
        return Err(format!("Invalid patternType {}", p.pattern_type));
    }
    if matches!(e.operation, AclOperation::Unknown | AclOperation::Any) {
        return Err(format!("Invalid operation {}", e.operation));
    }
    if !matches!(
        e.permission,
        AclPermissionType::Allow | AclPermissionType::Deny
    ) {
        return Err(format!("Invalid permissionType {}", e.permission));
    }
    if p.name.is_empty() {
        return Err("Resource name should not be empty".into());
    }
    if p.resource_type == ResourceType::Cluster && p.name != CLUSTER_NAME {
        return Err(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    match e.principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => {}
        _ => {
            return Err(format!(
                "Could not parse principal from `{}` (expected Type:name, such as User:alice)",
                e.principal
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(name: &str, pattern_type: PatternType) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::Topic,
                name: name.into(),
                pattern_type,
            },
            entry: AccessControlEntry {
                principal: "User:alice".into(),
                host: "*".into(),
                operation: AclOperation::Read,
                permission: AclPermissionType::Allow,
            },
        }
    }

    #[test]
    fn codes_are_kafkas() {
        assert_eq!(ResourceType::TransactionalId.code(), 5);
        assert_eq!(PatternType::Prefixed.code(), 4);
        assert_eq!(AclOperation::IdempotentWrite.code(), 12);
        assert_eq!(AclOperation::DescribeTokens.code(), 14);
        assert_eq!(AclPermissionType::Allow.code(), 3);
        assert_eq!(AclOperation::from_code(99), AclOperation::Unknown);
        for op in AclOperation::ALL_VALUES {
            assert_eq!(AclOperation::from_code(op.code()), *op);
        }
        assert_eq!(
            "transactional-id".parse::<ResourceType>(),
            Ok(ResourceType::TransactionalId)
        );
        assert!("unknown".parse::<PatternType>().is_err());
    }

    #[test]
    fn filters_match_as_kafkas_do() {
        let literal = binding("orders", PatternType::Literal);
        let wildcard = binding("*", PatternType::Literal);
        let prefixed = binding("ord", PatternType::Prefixed);
        let mut f = AclBindingFilter::any();
        assert!(f.matches(&literal) && f.matches(&wildcard) && f.matches(&prefixed));

        f.name = Some("orders".into());
        // ANY with a name: exact names only, whatever the pattern type.
        assert!(f.matches(&literal) && !f.matches(&wildcard) && !f.matches(&prefixed));

        f.pattern_type = PatternType::Match;
        assert!(f.matches(&literal) && f.matches(&wildcard) && f.matches(&prefixed));
        f.name = Some("other".into());
        assert!(!f.matches(&literal) && f.matches(&wildcard) && !f.matches(&prefixed));

        f.pattern_type = PatternType::Prefixed;
        f.name = Some("ord".into());
        assert!(!f.matches(&literal) && f.matches(&prefixed));

        let mut f = AclBindingFilter::any();
        f.principal = Some("User:bob".into());
        assert!(!f.matches(&literal));
        f.principal = Some("User:alice".into());
        f.operation = AclOperation::Write;
        assert!(!f.matches(&literal));
        f.operation = AclOperation::Read;
        f.permission = AclPermissionType::Deny;
        assert!(!f.matches(&literal));
        f.permission = AclPermissionType::Allow;
        f.resource_type = ResourceType::Group;
        assert!(!f.matches(&literal));
    }

    #[test]
    fn new_acls_are_validated() {
        assert!(validate_new(&binding("t", PatternType::Literal)).is_ok());
        assert!(validate_new(&binding("t", PatternType::Match)).is_err());
        assert!(validate_new(&binding("", PatternType::Literal)).is_err());
        let mut b = binding("t", PatternType::Literal);
        b.entry.principal = "alice".into();
        assert!(validate_new(&b).is_err());
        let mut b = binding("t", PatternType::Literal);
        b.entry.operation = AclOperation::Any;
        assert!(validate_new(&b).is_err());
        let mut b = binding("other", PatternType::Literal);
        b.pattern.resource_type = ResourceType::Cluster;
        assert!(validate_new(&b).is_err());
        b.pattern.name = CLUSTER_NAME.into();
        assert!(validate_new(&b).is_ok());
        let mut f = AclBindingFilter::any();
        assert!(f.validate().is_ok());
        f.operation = AclOperation::Unknown;
        assert!(f.validate().is_err());
    }
}
