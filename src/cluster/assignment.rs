//! Replica placement, as Kafka's rack-unaware assignment: leaders round-robin
//! from a random start broker, followers shifted by a step that grows each
//! time the leaders wrap around, so replicas of consecutive partitions do not
//! all land on the same followers.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use rand::Rng;

use super::controller::ControllerError;
use super::metadata::BrokerRegistration;

pub fn assign_replicas(
    brokers: &[&BrokerRegistration],
    partitions: i32,
    replication_factor: i16,
) -> Result<Vec<Vec<i32>>, ControllerError> {
    let n = brokers.len();
    let rf = replication_factor as usize;
    if rf > n {
        return Err(ControllerError::new(
            ResponseError::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {n} broker(s) are registered."
            ),
        ));
    }
    let mut ids: Vec<i32> = brokers.iter().map(|b| b.node_id).collect();
    ids.sort_unstable();
    let mut rng = rand::rng();
    let start = rng.random_range(0..n);
    let mut shift = rng.random_range(0..n);
    let mut out = Vec::with_capacity(partitions.max(0) as usize);
    for p in 0..partitions.max(0) as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![ids[first]];
        for j in 0..rf.saturating_sub(1) {
            let index = (first + 1 + (shift + j) % (n - 1)) % n;
            replicas.push(ids[index]);
        }
        out.push(replicas);
    }
    Ok(out)
}

/// Checks replica lists given explicitly by a client.
pub fn validate_manual(
    assignments: &[Vec<i32>],
    brokers: &BTreeMap<i32, BrokerRegistration>,
) -> Result<(), ControllerError> {
    let bad = |m: String| ControllerError::new(ResponseError::InvalidReplicaAssignment, m);
    let rf = assignments.first().map_or(0, Vec::len);
    for (p, replicas) in assignments.iter().enumerate() {
        if replicas.is_empty() {
            return Err(bad(format!("Partition {p} has no replicas.")));
        }
        if replicas.len() != rf {
            return Err(bad(
                "All partitions must have the same number of replicas.".into()
            ));
        }
        let mut seen = replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != replicas.len() {
            return Err(bad(format!("Partition {p} lists a broker more than once.")));
        }
        if let Some(missing) = replicas.iter().find(|id| !brokers.contains_key(id)) {
            return Err(bad(format!(
                "Broker {missing} in the assignment of partition {p} is not registered."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(n: i32) -> Vec<BrokerRegistration> {
        (1..=n)
            .map(|id| BrokerRegistration {
                node_id: id,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: None,
                fenced: false,
            })
            .collect()
    }

    #[test]
    fn spreads_leaders_and_never_repeats_a_broker() {
        let b = brokers(3);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let a = assign_replicas(&refs, 6, 3).unwrap();
        assert_eq!(a.len(), 6);
        for replicas in &a {
            let mut s = replicas.clone();
            s.sort();
            s.dedup();
            assert_eq!(s.len(), 3);
        }
        for id in 1..=3 {
            assert_eq!(a.iter().filter(|r| r[0] == id).count(), 2);
        }
    }

    #[test]
    fn too_high_a_replication_factor_is_refused() {
        let b = brokers(1);
        let refs: Vec<&BrokerRegistration> = b.iter().collect();
        let e = assign_replicas(&refs, 1, 3).unwrap_err();
        assert_eq!(e.code, ResponseError::InvalidReplicationFactor);
        assert_eq!(
            assign_replicas(&refs, 3, 1).unwrap(),
            vec![vec![1], vec![1], vec![1]]
        );
    }
}
