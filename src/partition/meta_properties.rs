//! Kafka's `meta.properties` in each log directory (KRaft, version 1): the
//! cluster and node the directory belongs to and the directory's own id
//! (`directory.id`, KIP-858). A directory another node or cluster wrote is
//! refused at start-up rather than its partitions served as this node's.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use uuid::Uuid;

use super::StartupError;
use crate::log::LogError;

pub const META_PROPERTIES_FILE: &str = "meta.properties";

#[derive(Debug, Clone, PartialEq)]
pub struct MetaProperties {
    /// Known once the metadata quorum answered; None in a directory this
    /// broker has not yet written the file in.
    pub cluster_id: Option<String>,
    pub node_id: i32,
    pub directory_id: Uuid,
}

impl MetaProperties {
    /// What `dir` holds, or (no file yet) a new identity for it with
    /// `node_id`; refused when the file names another node or cannot be
    /// read.
    pub fn load(dir: &Path, node_id: i32) -> Result<MetaProperties, StartupError> {
        let path = dir.join(META_PROPERTIES_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(MetaProperties {
                    cluster_id: None,
                    node_id,
                    directory_id: new_directory_id(),
                })
            }
            Err(source) => return Err(StartupError::DataDir { path, source }),
        };
        let stored = parse(&text).map_err(|reason| StartupError::MetaProperties {
            path: path.clone(),
            reason,
        })?;
        if stored.node_id != node_id {
            return Err(StartupError::MetaProperties {
                path,
                reason: format!(
                    "Stored node id {} doesn't match previous node id {node_id}",
                    stored.node_id
                ),
            });
        }
        Ok(stored)
    }

    /// Records `cluster_id`, refusing one that differs from the stored.
    pub fn claim(&mut self, dir: &Path, cluster_id: &str) -> Result<(), StartupError> {
        let path = dir.join(META_PROPERTIES_FILE);
        match &self.cluster_id {
            Some(stored) if stored == cluster_id => return Ok(()),
            Some(stored) => {
                return Err(StartupError::MetaProperties {
                    path,
                    reason: format!("Invalid cluster.id: expected {cluster_id}, but read {stored}"),
                })
            }
            None => self.cluster_id = Some(cluster_id.to_string()),
        }
        crate::log::write_atomically(&path, self.encode().as_bytes()).map_err(|e| match e {
            LogError::Io { source, .. } => StartupError::DataDir { path, source },
            other => StartupError::MetaProperties {
                path,
                reason: other.to_string(),
            },
        })
    }

    fn encode(&self) -> String {
        format!(
            "#\n#Written by Gregor\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
            self.cluster_id.as_deref().unwrap_or_default(),
            kafka_uuid(self.directory_id),
            self.node_id
        )
    }
}

/// Kafka's text for a Uuid: URL-safe base64 without padding.
pub fn kafka_uuid(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// A random id, never one of the first 100 (Kafka reserves them: zero is
/// "unassigned", one "lost", two "migrating").
fn new_directory_id() -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if id.as_u128() >= 100 {
            return id;
        }
    }
}

fn parse(text: &str) -> Result<MetaProperties, String> {
    let props: BTreeMap<&str, &str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
        .collect();
    let get = |key: &str| props.get(key).copied().ok_or(format!("no {key}"));
    if get("version")? != "1" {
        return Err(format!("unsupported version {}", get("version")?));
    }
    let node_id = get("node.id")?;
    let node_id = node_id
        .parse()
        .map_err(|_| format!("node.id {node_id} is not a number"))?;
    let id = get("directory.id")?;
    let directory_id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or(format!("directory.id {id} is not a Kafka Uuid"))?;
    Ok(MetaProperties {
        cluster_id: Some(get("cluster.id")?.to_string()),
        node_id,
        directory_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(dir: &Path) -> std::path::PathBuf {
        dir.join(META_PROPERTIES_FILE)
    }

    #[test]
    fn a_directory_is_claimed_once_and_refused_to_another_node_or_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let mut props = MetaProperties::load(dir.path(), 1).unwrap();
        assert!(
            !path(dir.path()).exists(),
            "written once the cluster is known"
        );
        props.claim(dir.path(), "abc").unwrap();
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        for line in ["cluster.id=abc", "node.id=1", "version=1"] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        let again = MetaProperties::load(dir.path(), 1).unwrap();
        assert_eq!(again, props, "the directory id is kept");
        let other_node = MetaProperties::load(dir.path(), 2).unwrap_err().to_string();
        assert!(
            other_node.contains("Stored node id 1 doesn't match previous node id 2"),
            "{other_node}"
        );
        let other_cluster = again
            .clone()
            .claim(dir.path(), "xyz")
            .unwrap_err()
            .to_string();
        assert!(
            other_cluster.contains("Invalid cluster.id"),
            "{other_cluster}"
        );
        std::fs::write(path(dir.path()), "version=1\nnode.id=1\n").unwrap();
        let bad = MetaProperties::load(dir.path(), 1).unwrap_err().to_string();
        assert!(
            bad.contains("no directory.id") && bad.contains(META_PROPERTIES_FILE),
            "{bad}"
        );
    }
}
