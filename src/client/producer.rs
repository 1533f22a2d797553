//! The producer facade: records in, acknowledgements out, with a
//! partitioner and interceptors in between.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::util::IntoOpaque;

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

/// The handler `send_with_callback` calls with each record's outcome, on
/// librdkafka's polling thread; one for many records.
pub type OnDelivery = Arc<dyn Fn(Result<RecordMetadata>) + Send + Sync>;

/// The interceptors a producer runs, in order.
type Interceptors = Arc<[Arc<dyn Interceptor>]>;

/// Where a record's delivery report goes.
enum Report {
    /// A caller waiting for this one record.
    Waiting(tokio::sync::oneshot::Sender<Result<RecordMetadata>>),
    /// A handler for records sent without waiting, rather than a boxed
    /// closure per record, which (with the topic name it held for its
    /// error message) cost three allocations a record, freed on another
    /// thread.
    Each(OnDelivery),
}

/// What a record carries through librdkafka to its delivery report when
/// it needs more than the producer's shared handler: one allocation.
struct Pending {
    /// The interceptors to tell, and when the record was queued for the
    /// latency they are given; None without interceptors, which spares
    /// reading the clock twice a record.
    interceptors: Option<(Interceptors, Instant)>,
    report: Report,
}

impl Pending {
    fn deliver(self, result: Result<RecordMetadata>) {
        if let Some((interceptors, started)) = &self.interceptors {
            let latency = started.elapsed();
            for i in interceptors.iter() {
                i.on_acknowledgement(&result, latency);
            }
        }
        match self.report {
            Report::Waiting(tx) => {
                let _ = tx.send(result);
            }
            Report::Each(on_delivery) => on_delivery(result),
        }
    }
}

/// What rides with a record through librdkafka: nothing when its report
/// goes to the handler the producer keeps (`Deliveries::shared`) and no
/// interceptor waits for it, so that such a record allocates nothing of
/// its own and shares no counter with the polling thread; else a Pending.
enum Opaque {
    Shared,
    Pending(Box<Pending>),
}

// librdkafka carries the opaque as a pointer: null for `Shared`, the box
// otherwise. rdkafka's own impls cover a Box or nothing, not either.
#[allow(unsafe_code)]
impl IntoOpaque for Opaque {
    fn into_ptr(self) -> *mut c_void {
        match self {
            Opaque::Shared => std::ptr::null_mut(),
            Opaque::Pending(pending) => pending.into_ptr(),
        }
    }

    unsafe fn from_ptr(ptr: *mut c_void) -> Opaque {
        if ptr.is_null() {
            Opaque::Shared
        } else {
            // SAFETY: a non-null pointer came from `into_ptr` of a Box,
            // and librdkafka hands each record's opaque back once.
            Opaque::Pending(unsafe { Box::from_ptr(ptr) })
        }
    }
}

/// Hands each delivery report to what was sent with its record: no task
/// or channel per record sent without waiting, which is what kept the
/// console producer at a tenth of kcat's speed on the same librdkafka.
#[derive(Default)]
struct Deliveries {
    /// The first handler given to `send_with_callback`, which the records
    /// sent with it reach without carrying it.
    shared: OnceLock<OnDelivery>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Opaque;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Opaque) {
        let result = match result {
            Ok(m) => Ok(RecordMetadata {
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp().to_millis(),
            }),
            // The topic is named from the report, so that only a failed
            // record pays for the message's text.
            Err((e, m)) => Err(ClientError::kafka(format!(
                "cannot write to topic '{}'",
                m.topic()
            ))(e.clone())),
        };
        match opaque {
            Opaque::Pending(pending) => pending.deliver(result),
            // Set before any record was sent without a Pending.
            Opaque::Shared => {
                if let Some(on_delivery) = self.shared.get() {
                    on_delivery(result)
                }
            }
        }
    }
}

/// How long the polling thread waits for delivery reports before looking
/// whether the producer is closing. rdkafka's ThreadedProducer waits
/// 100 ms, which every console-producer run paid again at exit.
const POLL: Duration = Duration::from_millis(20);

pub struct Producer {
    inner: Arc<BaseProducer<Deliveries>>,
    /// Serves the delivery reports until the producer is dropped.
    poller: Option<std::thread::JoinHandle<()>>,
    closing: Arc<AtomicBool>,
    partitioner: Arc<dyn Partitioner>,
    interceptors: Interceptors,
    /// Partition counts by topic, looked up once each. A list: a producer
    /// writes to a topic or a few, and hashing the name for every record
    /// cost more than comparing it.
    partition_counts: Mutex<Vec<(String, i32)>>,
    timeout: Duration,
}

impl Producer {
    /// A producer using the Java client's murmur2 partitioner.
    pub fn new(settings: &ClientSettings) -> Result<Producer> {
        let inner: Arc<BaseProducer<Deliveries>> = Arc::new(
            settings
                .rdkafka()
                .create_with_context(Deliveries::default())
                .map_err(ClientError::kafka("cannot create the producer"))?,
        );
        let closing = Arc::new(AtomicBool::new(false));
        let poller = {
            let (producer, closing) = (Arc::clone(&inner), Arc::clone(&closing));
            std::thread::Builder::new()
                .name("producer polling".into())
                .spawn(move || {
                    while !closing.load(Ordering::Relaxed) {
                        producer.poll(POLL);
                    }
                })
                .map_err(|e| {
                    ClientError::Invalid(format!("cannot start the producer's polling thread: {e}"))
                })?
        };
        Ok(Producer {
            inner,
            poller: Some(poller),
            closing,
            partitioner: Arc::new(Murmur2Partitioner),
            interceptors: Arc::from([]),
            partition_counts: Mutex::new(Vec::new()),
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
        if let Some((_, count)) = self
            .partition_counts
            .lock()
            .iter()
            .find(|(t, _)| t == topic)
        {
            return Ok(Some(*count));
        }
        let client = Arc::clone(&self.inner);
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
        if let Some(count) = count {
            self.partition_counts
                .lock()
                .push((topic.to_string(), count));
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

    /// What goes with a record whose report `report` takes.
    fn opaque(&self, report: Report) -> Opaque {
        let interceptors = (!self.interceptors.is_empty())
            .then(|| (Arc::clone(&self.interceptors), Instant::now()));
        if let (None, Report::Each(on_delivery)) = (&interceptors, &report) {
            let shared = self
                .inner
                .context()
                .shared
                .get_or_init(|| Arc::clone(on_delivery));
            if Arc::ptr_eq(shared, on_delivery) {
                return Opaque::Shared;
            }
        }
        Opaque::Pending(Box::new(Pending {
            interceptors,
            report,
        }))
    }

    /// Hands the record to librdkafka, waiting while its queue is full;
    /// `report` gets its outcome.
    async fn enqueue(&self, record: &ProducerRecord, report: Report) -> Result<()> {
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
        let mut opaque = self.opaque(report);
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], Opaque> =
                BaseRecord::with_opaque_to(&record.topic, opaque);
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
                    opaque = r.delivery_opaque;
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

    /// Sends and waits for the acknowledgement; None when an interceptor dropped the record.
    pub async fn send(&self, record: ProducerRecord) -> Result<Option<RecordMetadata>> {
        let Some(record) = self.prepare(record).await? else {
            return Ok(None);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(&record, Report::Waiting(tx)).await?;
        // librdkafka reports every record it was given before it is
        // destroyed, so the sender goes unused only if the producer closed.
        match rx.await {
            Ok(result) => result.map(Some),
            Err(_) => Err(ClientError::Invalid(format!(
                "the producer closed before '{}' acknowledged a record",
                record.topic
            ))),
        }
    }

    /// Sends without waiting: returns once the record is queued (false when
    /// an interceptor dropped it); `on_delivery` is called with its outcome
    /// on librdkafka's polling thread. The producer keeps the first handler
    /// it is given: records sent with that one cost no allocation.
    pub async fn send_with_callback(
        &self,
        record: ProducerRecord,
        on_delivery: &OnDelivery,
    ) -> Result<bool> {
        let Some(record) = self.prepare(record).await? else {
            return Ok(false);
        };
        self.enqueue(&record, Report::Each(Arc::clone(on_delivery)))
            .await?;
        Ok(true)
    }
}

impl Drop for Producer {
    /// Stops the polling thread; librdkafka's producer then purges what
    /// is left and reports it on this thread as it closes.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}
