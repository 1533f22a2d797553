//! The wire without librdkafka: a bare Kafka client for requests
//! librdkafka will not make (malformed frames, specific API versions),
//! record batches built and produced by hand, and a proxy that loses
//! responses on the way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, TimestampType,
};

use super::requests::encode_batch;

/// A bare Kafka wire client for requests rdkafka will not make.
pub struct RawClient {
    stream: TcpStream,
    correlation_id: i32,
    client_id: String,
}

impl RawClient {
    pub fn connect(port: u16) -> RawClient {
        RawClient::over(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    /// A client on a connection made elsewhere (from a chosen local address, say).
    pub fn over(stream: TcpStream) -> RawClient {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        RawClient {
            stream,
            correlation_id: 0,
            client_id: "gregor-raw-test".to_string(),
        }
    }

    /// Sends `client_id` in its request headers from now on.
    pub fn with_client_id(mut self, client_id: &str) -> RawClient {
        self.client_id = client_id.to_string();
        self
    }

    /// Waits at most `timeout` for a read, so that `is_closed` can tell a
    /// quiet connection from a closed one sooner.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one response frame; `None` if the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).ok()?;
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).ok()?;
        Some(Bytes::from(buf))
    }

    /// True once the broker has closed the connection (EOF or reset).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Sends `request` at `version` and decodes the response.
    pub fn call<R: Request>(&mut self, request: &R, version: i16) -> Option<R::Response> {
        let correlation_id = self.send(request, version);
        self.receive::<R>(version, correlation_id)
    }

    /// Sends `request` at `version` without waiting for its response;
    /// its correlation id.
    pub fn send<R: Request>(&mut self, request: &R, version: i16) -> i32 {
        self.correlation_id += 1;
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .unwrap();
        request.encode(&mut body, version).unwrap();
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.put_slice(&body);
        self.send_raw(&frame);
        self.correlation_id
    }

    /// Reads the next response, which must answer `correlation_id`.
    pub fn receive<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> Option<R::Response> {
        let key = ApiKey::try_from(R::KEY).unwrap();
        let mut resp = self.read_frame()?;
        let header =
            ResponseHeader::decode(&mut resp, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, correlation_id);
        Some(R::Response::decode(&mut resp, version).expect("decode response"))
    }
}

/// A connection to `port` on 127.0.0.1 from the local address `from`.
pub fn connect_from(from: &str, port: u16) -> RawClient {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{from}:0").parse::<std::net::SocketAddr>().unwrap())
            .unwrap_or_else(|e| panic!("bind {from}: {e}"));
        socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect")
            .into_std()
            .expect("std stream")
    });
    stream.set_nonblocking(false).unwrap();
    RawClient::over(stream)
}

/// A TCP proxy in front of a broker that breaks the connection instead of
/// passing on every `every`-th response, so that clients retry requests the
/// broker has already carried out (an acknowledgement lost on the wire).
pub struct FaultyProxy {
    pub port: u16,
    target: std::sync::Arc<std::sync::atomic::AtomicU16>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    every: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultyProxy {
    pub fn start(every: usize) -> FaultyProxy {
        use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let target = Arc::new(AtomicU16::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let responses = Arc::new(AtomicUsize::new(0));
        let every = Arc::new(AtomicUsize::new(every));
        let (t, d, e) = (target.clone(), dropped.clone(), every.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(broker) = TcpStream::connect(("127.0.0.1", t.load(Ordering::SeqCst))) else {
                    continue;
                };
                let (mut c_in, mut b_out) =
                    (client.try_clone().unwrap(), broker.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut b_out);
                });
                let (responses, dropped, every) = (responses.clone(), d.clone(), e.clone());
                std::thread::spawn(move || {
                    let (mut from, mut to) = (broker, client);
                    loop {
                        let mut len = [0u8; 4];
                        if from.read_exact(&mut len).is_err() {
                            break;
                        }
                        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
                        if from.read_exact(&mut frame).is_err() {
                            break;
                        }
                        let n = responses.fetch_add(1, Ordering::SeqCst) + 1;
                        if n % every.load(Ordering::SeqCst) == 0 {
                            dropped.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if to
                            .write_all(&len)
                            .and_then(|_| to.write_all(&frame))
                            .is_err()
                        {
                            break;
                        }
                    }
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FaultyProxy {
            port,
            target,
            dropped,
            every,
        }
    }

    /// Passes every response on from now on.
    pub fn heal(&self) {
        self.every
            .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn forward_to(&self, port: u16) {
        self.target.store(port, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// No producer id: a batch from a producer that is not idempotent.
pub const NO_PRODUCER: (i64, i16, i32) = (-1, -1, -1);

/// One uncompressed magic-2 batch of `values`, written by producer
/// (id, epoch) with sequence numbers from the third field on.
pub fn record_batch(values: &[&str], (id, epoch, sequence): (i64, i16, i32)) -> Bytes {
    let records: Vec<WireRecord> = values
        .iter()
        .enumerate()
        .map(|(i, value)| WireRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch wherever offset minus sequence
            // changes; without a producer this keeps one batch whose base
            // sequence is -1.
            sequence: if sequence < 0 {
                i as i32 - 1
            } else {
                sequence + i as i32
            },
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::copy_from_slice(value.as_bytes())),
            headers: Default::default(),
        })
        .collect::<Vec<_>>();
    encode_batch(&records, Compression::None)
}

/// One Produce (v9) of `records` to `topic`-`partition` with `acks`, over
/// the raw wire: the partition's answer.
pub fn produce_raw(
    client: &mut RawClient,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Bytes,
) -> kafka_protocol::messages::produce_response::PartitionProduceResponse {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let request = kafka_protocol::messages::ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
                topic.to_string(),
            )))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response = client.call(&request, 9).expect("produce answered");
    response.responses[0].partition_responses[0].clone()
}

/// The offset of every record in a fetched partition's batches.
pub fn record_offsets(p: &kafka_protocol::messages::fetch_response::PartitionData) -> Vec<i64> {
    let mut bytes = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes).expect("whole batches");
        out.extend(set.records.iter().map(|r| r.offset));
    }
    out
}

/// (leader, ISR) of partition 0 of `topic` as the broker on `port` reports
/// them; (-1, none) while it names no such partition.
pub fn leadership(port: u16, topic: &str) -> (i32, Vec<i32>) {
    let response = RawClient::connect(port)
        .call(
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
            12,
        )
        .expect("Metadata answered");
    response
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == 0))
        .map(|p| (p.leader_id.0, p.isr_nodes.iter().map(|b| b.0).collect()))
        .unwrap_or((-1, Vec::new()))
}

/// Sets the group config share.auto.offset.reset=earliest on share group
/// `group` (IncrementalAlterConfigs on a GROUP resource), so that it reads
/// what was produced before it first fetched.
pub fn share_from_earliest(client: &mut RawClient, group: &str) {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::IncrementalAlterConfigsRequest;
    const GROUP_RESOURCE: i8 = 32;
    let s = |v: &str| StrBytes::from_string(v.to_string());
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(GROUP_RESOURCE)
            .with_resource_name(s(group))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("share.auto.offset.reset"))
                .with_config_operation(0)
                .with_value(Some(s("earliest")))]),
    ]);
    let response = client
        .call(&request, 1)
        .expect("IncrementalAlterConfigs answered");
    assert_eq!(response.responses[0].error_code, 0);
}
