//! CreateAcls, DescribeAcls and DeleteAcls, which the rdkafka crate does
//! not wrap.

use std::ffi::{c_char, CString};
use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{call, cstring, error_object, text, Handle};
use crate::client::acl::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, PatternType, Permission,
    ResourcePattern, ResourceType,
};
use crate::client::error::{ClientError, Result};

fn resource_type(t: ResourceType) -> rdsys::rd_kafka_ResourceType_t {
    use rdsys::rd_kafka_ResourceType_t::*;
    match t {
        ResourceType::Unknown => RD_KAFKA_RESOURCE_UNKNOWN,
        ResourceType::Any => RD_KAFKA_RESOURCE_ANY,
        ResourceType::Topic => RD_KAFKA_RESOURCE_TOPIC,
        ResourceType::Group => RD_KAFKA_RESOURCE_GROUP,
        // librdkafka calls Kafka's CLUSTER resource type (4) BROKER.
        ResourceType::Cluster => RD_KAFKA_RESOURCE_BROKER,
        ResourceType::TransactionalId => RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
        // Beyond librdkafka: `Admin` sends these over the tools' own connection.
        ResourceType::DelegationToken | ResourceType::User => RD_KAFKA_RESOURCE_UNKNOWN,
    }
}

fn pattern_type(t: PatternType) -> rdsys::rd_kafka_ResourcePatternType_t {
    use rdsys::rd_kafka_ResourcePatternType_t::*;
    match t {
        PatternType::Unknown => RD_KAFKA_RESOURCE_PATTERN_UNKNOWN,
        PatternType::Any => RD_KAFKA_RESOURCE_PATTERN_ANY,
        PatternType::Match => RD_KAFKA_RESOURCE_PATTERN_MATCH,
        PatternType::Literal => RD_KAFKA_RESOURCE_PATTERN_LITERAL,
        PatternType::Prefixed => RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
    }
}

fn operation(op: AclOperation) -> rdsys::rd_kafka_AclOperation_t {
    use rdsys::rd_kafka_AclOperation_t::*;
    match op {
        AclOperation::Unknown => RD_KAFKA_ACL_OPERATION_UNKNOWN,
        AclOperation::Any => RD_KAFKA_ACL_OPERATION_ANY,
        AclOperation::All => RD_KAFKA_ACL_OPERATION_ALL,
        AclOperation::Read => RD_KAFKA_ACL_OPERATION_READ,
        AclOperation::Write => RD_KAFKA_ACL_OPERATION_WRITE,
        AclOperation::Create => RD_KAFKA_ACL_OPERATION_CREATE,
        AclOperation::Delete => RD_KAFKA_ACL_OPERATION_DELETE,
        AclOperation::Alter => RD_KAFKA_ACL_OPERATION_ALTER,
        AclOperation::Describe => RD_KAFKA_ACL_OPERATION_DESCRIBE,
        AclOperation::ClusterAction => RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
        AclOperation::DescribeConfigs => RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        AclOperation::AlterConfigs => RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
        AclOperation::IdempotentWrite => RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
        // Only on USER resources, which never reach librdkafka.
        AclOperation::CreateTokens | AclOperation::DescribeTokens => RD_KAFKA_ACL_OPERATION_UNKNOWN,
    }
}

fn permission(p: Permission) -> rdsys::rd_kafka_AclPermissionType_t {
    use rdsys::rd_kafka_AclPermissionType_t::*;
    match p {
        Permission::Unknown => RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN,
        Permission::Any => RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
        Permission::Deny => RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
        Permission::Allow => RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
    }
}

/// Owned librdkafka ACL bindings (or filters), destroyed together.
struct Bindings(Vec<*mut rdsys::rd_kafka_AclBinding_t>);

impl Drop for Bindings {
    fn drop(&mut self) {
        for b in &self.0 {
            // SAFETY: each was returned by rd_kafka_AclBinding(Filter)_new
            // and is destroyed once, here.
            unsafe { rdsys::rd_kafka_AclBinding_destroy(*b) }
        }
    }
}

/// The C strings of one binding or filter; None stays a null pointer.
struct Fields {
    name: Option<CString>,
    principal: Option<CString>,
    host: Option<CString>,
}

impl Fields {
    fn new(name: Option<&str>, principal: Option<&str>, host: Option<&str>) -> Result<Fields> {
        Ok(Fields {
            name: name.map(cstring).transpose()?,
            principal: principal.map(cstring).transpose()?,
            host: host.map(cstring).transpose()?,
        })
    }
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}

type NewBinding = unsafe extern "C" fn(
    rdsys::rd_kafka_ResourceType_t,
    *const c_char,
    rdsys::rd_kafka_ResourcePatternType_t,
    *const c_char,
    *const c_char,
    rdsys::rd_kafka_AclOperation_t,
    rdsys::rd_kafka_AclPermissionType_t,
    *mut c_char,
    usize,
) -> *mut rdsys::rd_kafka_AclBinding_t;

/// Builds one binding (with rd_kafka_AclBinding_new) or filter (with
/// rd_kafka_AclBindingFilter_new); librdkafka's refusal becomes the error.
fn build(
    new: NewBinding,
    bindings: &mut Bindings,
    pattern: &ResourcePattern,
    fields: &Fields,
    op: AclOperation,
    perm: Permission,
) -> Result<()> {
    let mut errstr = [0 as c_char; 512];
    // SAFETY: every pointer is null or a live C string for the call;
    // librdkafka copies them into the binding it returns.
    unsafe {
        let binding = new(
            resource_type(pattern.resource_type),
            ptr(&fields.name),
            pattern_type(pattern.pattern_type),
            ptr(&fields.principal),
            ptr(&fields.host),
            operation(op),
            permission(perm),
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        if binding.is_null() {
            return Err(ClientError::Invalid(format!(
                "invalid ACL on {pattern}: {}",
                text(errstr.as_ptr()).unwrap_or_default()
            )));
        }
        bindings.0.push(binding);
    }
    Ok(())
}

/// Copies a binding librdkafka returned.
///
/// SAFETY: `b` is a valid binding that lives for the call.
unsafe fn binding(b: *const rdsys::rd_kafka_AclBinding_t) -> AclBinding {
    AclBinding {
        pattern: ResourcePattern {
            resource_type: ResourceType::from_code(rdsys::rd_kafka_AclBinding_restype(b) as u32),
            name: text(rdsys::rd_kafka_AclBinding_name(b)),
            pattern_type: PatternType::from_code(
                rdsys::rd_kafka_AclBinding_resource_pattern_type(b) as u32,
            ),
        },
        entry: AccessControlEntry {
            principal: text(rdsys::rd_kafka_AclBinding_principal(b)).unwrap_or_default(),
            host: text(rdsys::rd_kafka_AclBinding_host(b)).unwrap_or_default(),
            operation: AclOperation::from_code(rdsys::rd_kafka_AclBinding_operation(b) as u32),
            permission_type: Permission::from_code(
                rdsys::rd_kafka_AclBinding_permission_type(b) as u32
            ),
        },
    }
}

/// CreateAcls; the first binding the cluster refused is the error.
pub fn create_acls(handle: Handle, acls: &[AclBinding], timeout: Duration) -> Result<()> {
    let what = "cannot create ACLs";
    let mut bindings = Bindings(Vec::with_capacity(acls.len()));
    for acl in acls {
        let fields = Fields::new(
            acl.pattern.name.as_deref(),
            Some(&acl.entry.principal),
            Some(&acl.entry.host),
        )?;
        build(
            rdsys::rd_kafka_AclBinding_new,
            &mut bindings,
            &acl.pattern,
            &fields,
            acl.entry.operation,
            acl.entry.permission_type,
        )?;
    }
    // SAFETY: librdkafka copies the bindings, which the guard destroys
    // after the call; results are read while the event lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_CreateAcls(
                handle.0,
                bindings.0.as_mut_ptr(),
                bindings.0.len(),
                options,
                queue,
            )
        })?;
        let result = rdsys::rd_kafka_event_CreateAcls_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_CreateAcls_result_acls(result, &mut n);
        for (i, acl) in acls.iter().enumerate().take(n) {
            let error = rdsys::rd_kafka_acl_result_error(*results.add(i));
            error_object(
                error,
                &format!("cannot create ACL {} on {}", acl.entry, acl.pattern),
            )?;
        }
        Ok(())
    }
}

fn filter_bindings(filters: &[AclBindingFilter]) -> Result<Bindings> {
    let mut bindings = Bindings(Vec::with_capacity(filters.len()));
    for f in filters {
        let fields = Fields::new(
            f.pattern.name.as_deref(),
            f.principal.as_deref(),
            f.host.as_deref(),
        )?;
        build(
            rdsys::rd_kafka_AclBindingFilter_new,
            &mut bindings,
            &f.pattern,
            &fields,
            f.operation,
            f.permission_type,
        )?;
    }
    Ok(bindings)
}

/// DescribeAcls: the bindings `filter` matches.
pub fn describe_acls(
    handle: Handle,
    filter: &AclBindingFilter,
    timeout: Duration,
) -> Result<Vec<AclBinding>> {
    let what = "cannot describe ACLs";
    let filters = filter_bindings(std::slice::from_ref(filter))?;
    // SAFETY: librdkafka copies the filter, which the guard destroys after
    // the call; results are copied out while the event lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_DescribeAcls(handle.0, filters.0[0], options, queue)
        })?;
        let result = rdsys::rd_kafka_event_DescribeAcls_result(event.0);
        let mut n = 0usize;
        let acls = rdsys::rd_kafka_DescribeAcls_result_acls(result, &mut n);
        Ok((0..n).map(|i| binding(*acls.add(i))).collect())
    }
}

/// DeleteAcls: the bindings the filters matched, all of them deleted, or
/// the first filter the cluster refused as the error.
pub fn delete_acls(
    handle: Handle,
    filters: &[AclBindingFilter],
    timeout: Duration,
) -> Result<Vec<AclBinding>> {
    let what = "cannot delete ACLs";
    let mut bindings = filter_bindings(filters)?;
    // SAFETY: as in create_acls.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_DeleteAcls(
                handle.0,
                bindings.0.as_mut_ptr(),
                bindings.0.len(),
                options,
                queue,
            )
        })?;
        let result = rdsys::rd_kafka_event_DeleteAcls_result(event.0);
        let mut n = 0usize;
        let responses = rdsys::rd_kafka_DeleteAcls_result_responses(result, &mut n);
        let mut deleted = Vec::new();
        for (i, filter) in filters.iter().enumerate().take(n) {
            let response = *responses.add(i);
            error_object(
                rdsys::rd_kafka_DeleteAcls_result_response_error(response),
                &format!("cannot delete ACLs matching {}", filter.pattern),
            )?;
            let mut m = 0usize;
            let matching =
                rdsys::rd_kafka_DeleteAcls_result_response_matching_acls(response, &mut m);
            for j in 0..m {
                let acl = *matching.add(j);
                error_object(
                    rdsys::rd_kafka_AclBinding_error(acl),
                    &format!("cannot delete ACL on {}", filter.pattern),
                )?;
                deleted.push(binding(acl));
            }
        }
        Ok(deleted)
    }
}
