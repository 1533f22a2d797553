//! The producer facade: records in, acknowledgements out, with a
//! partitioner and interceptors in between.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::interceptor::Interceptor;
use super::partitioner::{Murmur2Partitioner, Partitioner};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProducerRecord {
    pub topic: String,
    /// The partition to write to; the partitioner chooses when None.
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Milliseconds since the epoch; the send time when None.
    pub timestamp: Option<i64>,
}

/// Where an acknowledged record landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMetadata {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
}

pub struct Producer {
    inner: FutureProducer,
    partitioner: Arc<dyn Partitioner>,
    interceptors: Vec<Arc<dyn Interceptor>>,
    partition_counts: Mutex<HashMap<String, Option<i32>>>,
    timeout: Duration,
}

impl Producer {
    /// A producer using the Java client's murmur2 partitioner.
    pub fn new(settings: &ClientSettings) -> Result<Producer> {
        let inner: FutureProducer = settings
            .rdkafka()
            .create()
            .map_err(ClientError::kafka("cannot create the producer"))?;
        Ok(Producer {
            inner,
            partitioner: Arc::new(Murmur2Partitioner),
            interceptors: Vec::new(),
            partition_counts: Mutex::new(HashMap::new()),
            timeout: settings.timeout,
        })
    }

    pub fn with_partitioner(mut self, partitioner: Arc<dyn Partitioner>) -> Producer {
        self.partitioner = partitioner;
        self
    }

    pub fn with_interceptor(mut self, interceptor: Arc<dyn Interceptor>) -> Producer {
        self.interceptors.push(interceptor);
        self
    }

    /// The topic's partition count, looked up once. None when the topic is
    /// not there yet: the record then goes without a partition, so that a
    /// broker that auto-creates topics can create it.
    async fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
        if let Some(count) = self.partition_counts.lock().get(topic) {
            return Ok(*count);
        }
        let client = self.inner.clone();
        let (name, timeout) = (topic.to_string(), self.timeout);
        let count = tokio::task::spawn_blocking(move || {
            let metadata = client
                .client()
                .fetch_metadata(Some(&name), timeout)
                .map_err(ClientError::kafka(format!("cannot look up topic '{name}'")))?;
            Ok::<_, ClientError>(
                metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
                    .map(|t| t.partitions().len() as i32),
            )
        })
        .await
        .map_err(|e| ClientError::Invalid(format!("metadata lookup failed: {e}")))??;
        if count.is_some() {
            self.partition_counts
                .lock()
                .insert(topic.to_string(), count);
        }
        Ok(count)
    }

    /// Runs the interceptors and the partitioner; None when a record is dropped.
    async fn prepare(&self, mut record: ProducerRecord) -> Result<Option<ProducerRecord>> {
        for i in &self.interceptors {
            if !i.on_send(&mut record) {
                return Ok(None);
            }
        }
        if record.partition.is_none() {
            if let Some(count) = self.partition_count(&record.topic).await? {
                record.partition = Some(self.partitioner.partition(
                    &record.topic,
                    record.key.as_deref(),
                    count,
                ));
            }
        }
        Ok(Some(record))
    }

    /// Hands the record to librdkafka, waiting while its queue is full.
    async fn enqueue(&self, record: &ProducerRecord) -> Result<DeliveryFuture> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (k, v) in &record.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        loop {
            let mut r: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&record.topic).headers(headers.clone());
            if let Some(p) = record.partition {
                r = r.partition(p);
            }
            if let Some(k) = &record.key {
                r = r.key(k);
            }
            if let Some(v) = &record.value {
                r = r.payload(v);
            }
            if let Some(ts) = record.timestamp {
                r = r.timestamp(ts);
            }
            match self.inner.send_result(r) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => {
                    return Err(ClientError::kafka(format!(
                        "cannot send to topic '{}'",
                        record.topic
                    ))(e))
                }
            }
        }
    }

    fn acknowledged(
        &self,
        topic: &str,
        outcome: std::result::Result<
            rdkafka::producer::future_producer::OwnedDeliveryResult,
            futures::channel::oneshot::Canceled,
        >,
        started: Instant,
    ) -> Result<RecordMetadata> {
        let result = match outcome {
            Ok(Ok(d)) => Ok(RecordMetadata {
                partition: d.partition,
                offset: d.offset,
                timestamp: d.timestamp.to_millis(),
            }),
            Ok(Err((e, _))) => Err(ClientError::kafka(format!(
                "cannot write to topic '{topic}'"
            ))(e)),
            Err(_) => Err(ClientError::Invalid(format!(
                "the producer closed before '{topic}' acknowledged a record"
            ))),
        };
        let latency = started.elapsed();
        for i in &self.interceptors {
            i.on_acknowledgement(&result, latency);
        }
        result
    }

    /// Sends and waits for the acknowledgement; None when an interceptor dropped the record.
    pub async fn send(&self, record: ProducerRecord) -> Result<Option<RecordMetadata>> {
        let Some(record) = self.prepare(record).await? else {
            return Ok(None);
        };
        let started = Instant::now();
        let delivery = self.enqueue(&record).await?;
        self.acknowledged(&record.topic, delivery.await, started)
            .map(Some)
    }

    /// Sends without waiting: returns once the record is queued (false when
    /// an interceptor dropped it) and calls `callback` with its outcome.
    pub async fn send_with_callback(
        self: &Arc<Self>,
        record: ProducerRecord,
        callback: impl FnOnce(Result<RecordMetadata>) + Send + 'static,
    ) -> Result<bool> {
        let Some(record) = self.prepare(record).await? else {
            return Ok(false);
        };
        let started = Instant::now();
        let delivery = self.enqueue(&record).await?;
        let producer = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = delivery.await;
            callback(producer.acknowledged(&record.topic, outcome, started));
        });
        Ok(true)
    }
}
