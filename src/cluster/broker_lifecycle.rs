//! Kafka's BrokerLifecycleManager: this broker's heartbeats to the active
//! controller, with the replicas it holds in failed log directories, and,
//! while this node is the active controller, the fencing of the brokers
//! that stopped heartbeating and the preferred leader elections of
//! auto.leader.rebalance.enable.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Controller;
use crate::config::BrokerConfig;
use crate::partition::ReplicaManager;
use crate::topic_partition::TopicPartition;

/// Heartbeats every broker.heartbeat.interval.ms until shutdown, and
/// checks for silent brokers four times per broker.session.timeout.ms
/// (or at each heartbeat, if that is more often).
pub async fn run(
    controller: Arc<Controller>,
    replicas: Arc<ReplicaManager>,
    config: BrokerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = Duration::from_millis(config.broker_heartbeat_interval_ms());
    let session = Duration::from_millis(config.broker_session_timeout_ms());
    let check = (session / 4).min(interval);
    let me = config.node_id();
    let mut last_beat = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(check) => {}
        }
        if last_beat.elapsed() >= interval {
            last_beat = tokio::time::Instant::now();
            // An active controller that stopped answering must not hold
            // up this node's own check for silent brokers.
            match tokio::time::timeout(interval, controller.heartbeat()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "heartbeat not taken"),
                Err(_) => tracing::debug!("heartbeat not answered in time"),
            }
        }
        report_offline_replicas(&controller, &replicas, me).await;
        controller.fence_silent_brokers(session).await;
    }
}

/// Asks the controller to move leadership and ISR membership off replicas
/// in failed log directories, as Kafka's heartbeat carries its offline log
/// dirs; again whenever the image has this broker back on one (a
/// preferred leader election, say).
async fn report_offline_replicas(controller: &Controller, replicas: &ReplicaManager, me: i32) {
    let failed = replicas.failed_dir_partitions();
    if failed.is_empty() {
        return;
    }
    let image = controller.image();
    let still_counted: Vec<TopicPartition> = failed
        .into_iter()
        .filter(|tp| {
            let p = image
                .topics
                .get(&tp.topic)
                .and_then(|t| t.partitions.get(tp.partition as usize));
            p.is_some_and(|p| p.leader == me || (p.isr.len() > 1 && p.isr.contains(&me)))
        })
        .collect();
    if still_counted.is_empty() {
        return;
    }
    if let Err(e) = controller.offline_replicas(still_counted).await {
        tracing::warn!(error = %e, "cannot report replicas in failed log directories; retried at the next heartbeat");
    }
}

/// While this node is the active controller, moves leadership back to
/// preferred replicas every `period` (leader.imbalance.check.interval.seconds).
pub async fn balance_leaders(
    controller: Arc<Controller>,
    period: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(period) => {}
        }
        controller.balance_leaders().await;
    }
}
