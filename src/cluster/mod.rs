//! Cluster metadata: the image every broker serves from, the controller that
//! changes it through the metadata quorum, and replica placement.

pub mod alter_partition;
pub mod assignment;
pub mod broker_client;
pub mod broker_lifecycle;
pub mod controller;
pub mod features;
pub mod leader_election;
pub mod metadata;
pub mod quorum;
pub mod reassignment;
pub mod replica_fetcher;
pub mod topic_name;

pub use controller::{
    Controller, ControllerCommand, ControllerError, MetadataLoadError, NewTopic,
    UserScramAlteration,
};
pub use metadata::{
    BrokerEndpoint, BrokerRegistration, HostedChanges, MetadataImage, PartitionImage, TopicImage,
};
