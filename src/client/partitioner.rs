//! Partitioners: which partition a record goes to when it names none.

use std::sync::atomic::{AtomicU32, Ordering};

pub trait Partitioner: Send + Sync {
    /// A partition in `0..partition_count` for a record with this key.
    fn partition(&self, topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32;
}

/// The Java client's murmur2 hash of a key, as `Utils.murmur2` returns it.
pub fn java_murmur2(key: &[u8]) -> i32 {
    murmur2::murmur2(key, murmur2::KAFKA_SEED) as i32
}

fn random(partition_count: i32) -> i32 {
    rand::random_range(0..partition_count.max(1))
}

/// The Java client's default for keyed records: the positive murmur2 hash
/// modulo the partition count, so keys land where a Java producer puts
/// them. Records without a key go to a random partition.
pub struct Murmur2Partitioner;

impl Partitioner for Murmur2Partitioner {
    fn partition(&self, _topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32 {
        match key {
            Some(key) => (java_murmur2(key) & 0x7fff_ffff) % partition_count.max(1),
            None => random(partition_count),
        }
    }
}

/// librdkafka's default: CRC32 of the key modulo the partition count; records
/// without a key go to a random partition.
pub struct ConsistentRandomPartitioner;

impl Partitioner for ConsistentRandomPartitioner {
    fn partition(&self, _topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32 {
        match key {
            Some(key) => (crc32fast::hash(key) % partition_count.max(1) as u32) as i32,
            None => random(partition_count),
        }
    }
}

/// Any partition, key or not.
pub struct RandomPartitioner;

impl Partitioner for RandomPartitioner {
    fn partition(&self, _topic: &str, _key: Option<&[u8]>, partition_count: i32) -> i32 {
        random(partition_count)
    }
}

/// Each partition in turn, key or not.
#[derive(Default)]
pub struct RoundRobinPartitioner {
    next: AtomicU32,
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, _topic: &str, _key: Option<&[u8]>, partition_count: i32) -> i32 {
        (self.next.fetch_add(1, Ordering::Relaxed) % partition_count.max(1) as u32) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Values from the Java client's own tests of Utils.murmur2.
        for (key, hash) in [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
        ] {
            assert_eq!(java_murmur2(key.as_bytes()), hash, "murmur2({key})");
        }
        assert_eq!(
            Murmur2Partitioner.partition("t", Some(b"foobar"), 6),
            (-790332482i32 & 0x7fff_ffff) % 6
        );
    }

    #[test]
    fn consistent_random_is_crc32_modulo_the_count() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        let p = ConsistentRandomPartitioner.partition("t", Some(b"123456789"), 7);
        assert_eq!(p as u32, 0xcbf4_3926 % 7);
    }

    #[test]
    fn every_partitioner_stays_in_range() {
        let round_robin = RoundRobinPartitioner::default();
        let spread: Vec<i32> = (0..6)
            .map(|_| round_robin.partition("t", None, 3))
            .collect();
        assert_eq!(spread, vec![0, 1, 2, 0, 1, 2]);
        for _ in 0..100 {
            assert!((0..3).contains(&RandomPartitioner.partition("t", Some(b"k"), 3)));
            assert!((0..3).contains(&Murmur2Partitioner.partition("t", None, 3)));
        }
    }
}
