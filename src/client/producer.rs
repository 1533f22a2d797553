//! The producer facade: records in, acknowledgements out, with a
//! partitioner and interceptors in between.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{
    BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer,
};

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

/// What librdkafka reports of one record: where it landed (partition,
/// offset, timestamp) or why it failed.
type Delivery = std::result::Result<(i32, i64, Option<i64>), KafkaError>;

/// Runs on librdkafka's polling thread once a record's fate is known.
type OnDelivery = Box<dyn FnOnce(Delivery) + Send + Sync>;

/// Hands each delivery report to the closure sent with its record: no
/// task or channel per record, which is what kept the console producer
/// at a tenth of kcat's speed on the same librdkafka.
struct Deliveries;

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<OnDelivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, on_delivery: Box<OnDelivery>) {
        let delivery = match result {
            Ok(m) => Ok((m.partition(), m.offset(), m.timestamp().to_millis())),
            Err((e, _)) => Err(e.clone()),
        };
        on_delivery(delivery);
    }
}

pub struct Producer {
    inner: ThreadedProducer<Deliveries>,
    partitioner: Arc<dyn Partitioner>,
    interceptors: Arc<[Arc<dyn Interceptor>]>,
    partition_counts: Mutex<HashMap<String, Option<i32>>>,
    timeout: Duration,
}

impl Producer {
    /// A producer using the Java client's murmur2 partitioner.
    pub fn new(settings: &ClientSettings) -> Result<Producer> {
        let inner = settings
            .rdkafka()
            .create_with_context(Deliveries)
            .map_err(ClientError::kafka("cannot create the producer"))?;
        Ok(Producer {
            inner,
            partitioner: Arc::new(Murmur2Partitioner),
            interceptors: Arc::from([]),
            partition_counts: Mutex::new(HashMap::new()),
            timeout: settings.timeout,
        })
    }

    pub fn with_partitioner(mut self, partitioner: Arc<dyn Partitioner>) -> Producer {
        self.partitioner = partitioner;
        self
    }

    pub fn with_interceptor(mut self, interceptor: Arc<dyn Interceptor>) -> Producer {
        let mut all = self.interceptors.to_vec();
        all.push(interceptor);
        self.interceptors = all.into();
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
        for i in self.interceptors.iter() {
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

    /// Hands the record to librdkafka, waiting while its queue is full;
    /// `on_delivery` gets its outcome.
    async fn enqueue(&self, record: &ProducerRecord, on_delivery: OnDelivery) -> Result<()> {
        let headers = (!record.headers.is_empty()).then(|| {
            record.headers.iter().fold(
                OwnedHeaders::new_with_capacity(record.headers.len()),
                |h, (k, v)| {
                    h.insert(Header {
                        key: k,
                        value: v.as_deref(),
                    })
                },
            )
        });
        let mut on_delivery = Box::new(on_delivery);
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], Box<OnDelivery>> =
                BaseRecord::with_opaque_to(&record.topic, on_delivery);
            if let Some(h) = &headers {
                r = r.headers(h.clone());
            }
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
            match self.inner.send(r) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    on_delivery = r.delivery_opaque;
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

    /// The outcome of a record as the caller sees it, after the
    /// interceptors have seen it.
    fn acknowledged(
        interceptors: &[Arc<dyn Interceptor>],
        topic: &str,
        delivery: Option<Delivery>,
        started: Instant,
    ) -> Result<RecordMetadata> {
        let result = match delivery {
            Some(Ok((partition, offset, timestamp))) => Ok(RecordMetadata {
                partition,
                offset,
                timestamp,
            }),
            Some(Err(e)) => Err(ClientError::kafka(format!(
                "cannot write to topic '{topic}'"
            ))(e)),
            None => Err(ClientError::Invalid(format!(
                "the producer closed before '{topic}' acknowledged a record"
            ))),
        };
        let latency = started.elapsed();
        for i in interceptors {
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(
            &record,
            Box::new(move |d| {
                let _ = tx.send(d);
            }),
        )
        .await?;
        Self::acknowledged(&self.interceptors, &record.topic, rx.await.ok(), started).map(Some)
    }

    /// Sends without waiting: returns once the record is queued (false when
    /// an interceptor dropped it) and calls `callback` with its outcome, on
    /// librdkafka's polling thread.
    pub async fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(Result<RecordMetadata>) + Send + Sync + 'static,
    ) -> Result<bool> {
        let Some(record) = self.prepare(record).await? else {
            return Ok(false);
        };
        let started = Instant::now();
        let interceptors = Arc::clone(&self.interceptors);
        let topic = record.topic.clone();
        self.enqueue(
            &record,
            Box::new(move |d| {
                callback(Self::acknowledged(&interceptors, &topic, Some(d), started))
            }),
        )
        .await?;
        Ok(true)
    }
}
