//! Images to apply changes to in unit tests, without a quorum.

use crate::cluster::metadata::{BrokerRegistration, MetadataImage, PartitionImage, TopicImage};

pub(super) fn broker(id: i32, rack: Option<&str>) -> BrokerRegistration {
    BrokerRegistration {
        node_id: id,
        host: "localhost".into(),
        port: 9092 + id as u16,
        rack: rack.map(str::to_string),
        fenced: false,
        endpoints: Vec::new(),
        log_dirs: Vec::new(),
        epoch: 0,
    }
}

/// An image with live brokers `ids`, no racks.
pub(super) fn cluster(ids: &[i32]) -> MetadataImage {
    let mut image = MetadataImage {
        cluster_id: "test-cluster".into(),
        ..MetadataImage::default()
    };
    for id in ids {
        image.brokers.insert(*id, broker(*id, None));
    }
    image
}

/// Adds topic `name` with one partition per replica list, each led by its
/// first replica with every replica in sync.
pub(super) fn add_topic(image: &mut MetadataImage, name: &str, replicas: &[&[i32]]) {
    image.insert_topic(TopicImage::with_replicas(name, replicas));
}

pub(super) fn partition(image: &MetadataImage, topic: &str, index: i32) -> PartitionImage {
    image
        .partition(topic, index)
        .cloned()
        .unwrap_or_else(|| panic!("{topic}-{index} is not in the image"))
}
