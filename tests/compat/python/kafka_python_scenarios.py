"""Conformance scenarios driven by kafka-python, a Kafka client that shares
no code with librdkafka. Usage: kafka_python_scenarios.py HOST:PORT

Each scenario asserts the exact records or values it gets back. The first
failure is reported as "kafka-python: <scenario> (<API>): <error>" with the
Kafka error code when the broker sent one, and the script exits 1.
"""

import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec
from kafka.errors import KafkaError

BOOTSTRAP = sys.argv[1]
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]
# Producers keep kafka-python 3's defaults, idempotence included.
PRODUCER = dict(bootstrap_servers=BOOTSTRAP)


class ScenarioFailed(Exception):
    pass


def check(condition, api, message):
    if not condition:
        raise ScenarioFailed(f"({api}): {message}")


def admin():
    return KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=15000)


def consumer(**extra):
    settings = dict(
        bootstrap_servers=BOOTSTRAP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
    )
    settings.update(extra)
    return KafkaConsumer(**settings)


def drain(c, want, seconds=20):
    """Polls until `want` records arrived; returns them as tuples."""
    got = []
    deadline = time.time() + seconds
    while len(got) < want and time.time() < deadline:
        for records in c.poll(timeout_ms=1000).values():
            for r in records:
                got.append((r.partition, r.offset, r.key, r.value, list(r.headers)))
    return got


def poll_together(consumers, done, seconds):
    """Polls each consumer on its own thread until done(records) holds or
    the time is up; returns the records. kafka-python 3.0.12 throws away a
    JoinGroup/SyncGroup round that completes while its consumer is outside
    poll() (join_group_async starts a new round when the last one is
    already done), so two consumers polled in turn from one thread on a
    busy machine can rebalance again and again."""
    seen = []
    lock = threading.Lock()
    deadline = time.time() + seconds

    def run(c):
        while time.time() < deadline:
            with lock:
                if done(seen):
                    return
            batch = c.poll(timeout_ms=500)
            with lock:
                for records in batch.values():
                    seen.extend(records)

    threads = [threading.Thread(target=run, args=(c,)) for c in consumers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def create_topics(a):
    a.create_topics(
        {
            "kp-records": {"num_partitions": 3, "replication_factor": 1},
            "kp-times": {"num_partitions": 1, "replication_factor": 1},
            "kp-group": {"num_partitions": 4, "replication_factor": 1},
            "kp-configs": {
                "num_partitions": 1,
                "replication_factor": 1,
                "configs": {"retention.ms": "86400000"},
            },
        }
    )
    topics = set(a.list_topics())
    for t in ["kp-records", "kp-times", "kp-group", "kp-configs"]:
        check(t in topics, "Metadata", f"created topic {t} is not listed: {sorted(topics)}")


def produce_every_codec():
    """Records with keys and headers under each codec, read back exactly."""
    expected = []
    for codec in CODECS:
        p = KafkaProducer(acks="all", compression_type=codec, linger_ms=5, **PRODUCER)
        futures = []
        for i in range(4):
            key = f"{codec}-{i}".encode()
            value = f"value {i} under {codec}".encode() * 10
            headers = [("codec", str(codec).encode()), ("i", bytes([i]))]
            futures.append((p.send("kp-records", key=key, value=value, headers=headers, partition=i % 3), key, value, headers))
        p.flush()
        for f, key, value, headers in futures:
            md = f.get(timeout=15)
            expected.append((md.partition, md.offset, key, value, headers))
        p.close()
    c = consumer()
    c.assign([TopicPartition("kp-records", p) for p in range(3)])
    got = drain(c, len(expected))
    c.close()
    check(sorted(got) == sorted(expected), "Fetch", f"read back {sorted(got)}, produced {sorted(expected)}")
    return expected


def consume_from_explicit_offsets(expected):
    c = consumer()
    tp = TopicPartition("kp-records", 1)
    c.assign([tp])
    c.seek(tp, 3)
    want = sorted(r for r in expected if r[0] == 1 and r[1] >= 3)
    got = drain(c, len(want))
    c.close()
    check(sorted(got) == want, "Fetch", f"from offset 3 read {got}, want {want}")


def list_offsets():
    base = int(time.time() * 1000) - 10_000
    p = KafkaProducer(acks="all", **PRODUCER)
    for i in range(3):
        p.send("kp-times", value=b"t%d" % i, timestamp_ms=base + i * 1000).get(timeout=15)
    p.close()
    tp = TopicPartition("kp-times", 0)
    c = consumer()
    check(c.beginning_offsets([tp]) == {tp: 0}, "ListOffsets", f"earliest {c.beginning_offsets([tp])}")
    check(c.end_offsets([tp]) == {tp: 3}, "ListOffsets", f"latest {c.end_offsets([tp])}")
    found = c.offsets_for_times({tp: base + 500})[tp]
    check(found is not None and found.offset == 1 and found.timestamp == base + 1000,
          "ListOffsets", f"by timestamp {found}")
    check(c.offsets_for_times({tp: base + 5000})[tp] is None, "ListOffsets", "a time past the last record")
    c.close()
    a = admin()
    by_admin = a.list_partition_offsets({tp: OffsetSpec.LATEST})
    a.close()
    check(by_admin[tp].offset == 3, "ListOffsets", f"admin latest {by_admin}")


def group_of_two_with_a_rebalance():
    p = KafkaProducer(acks="all", **PRODUCER)
    for i in range(40):
        p.send("kp-group", value=b"%d" % i, partition=i % 4)
    p.flush()
    first = consumer(group_id="kp-group")
    first.subscribe(["kp-group"])
    got = drain(first, 40)
    check(len(got) == 40, "JoinGroup/Fetch", f"the only member read {len(got)} of 40")
    first.commit()

    second = consumer(group_id="kp-group")
    second.subscribe(["kp-group"])
    poll_together([first, second],
                  lambda _: len(first.assignment()) == 2 and len(second.assignment()) == 2, 30)
    a1, a2 = first.assignment(), second.assignment()
    check(len(a1) == 2 and len(a2) == 2 and not (a1 & a2), "JoinGroup/SyncGroup",
          f"members did not split four partitions: {a1} and {a2}")

    for i in range(40, 80):
        p.send("kp-group", value=b"%d" % i, partition=i % 4)
    p.flush()
    p.close()
    seen = [int(r.value) for r in poll_together([first, second], lambda seen: len(seen) >= 40, 20)]
    check(sorted(seen) == list(range(40, 80)), "Fetch",
          f"after the rebalance the group read {sorted(seen)}, want 40..79 once each")
    first.commit()
    second.commit()
    first.close()
    second.close()
    a = admin()
    committed = a.list_group_offsets({"kp-group": None})["kp-group"]
    a.close()
    offsets = {tp.partition: o.offset for tp, o in committed.items()}
    check(offsets == {0: 20, 1: 20, 2: 20, 3: 20}, "OffsetFetch", f"committed {offsets}")


def describe_and_alter_configs():
    a = admin()
    resource = ConfigResource(ConfigResourceType.TOPIC, "kp-configs")
    described = a.describe_configs([resource])["topic"]["kp-configs"]
    check(described["retention.ms"]["value"] == "86400000", "DescribeConfigs", f"retention.ms {described.get('retention.ms')}")
    a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-configs", {"retention.ms": "3600000"})])
    described = a.describe_configs([resource])["topic"]["kp-configs"]
    a.close()
    check(described["retention.ms"]["value"] == "3600000", "AlterConfigs", f"retention.ms after alter {described.get('retention.ms')}")


def create_partitions():
    a = admin()
    a.create_partitions({"kp-records": 5})
    a.close()
    c = consumer()
    deadline = time.time() + 10
    while time.time() < deadline and len(c.partitions_for_topic("kp-records") or ()) != 5:
        time.sleep(0.2)
        c.topics()  # refreshes metadata
    partitions = c.partitions_for_topic("kp-records")
    c.close()
    check(partitions == {0, 1, 2, 3, 4}, "CreatePartitions", f"partitions now {partitions}")


def delete_records():
    tp = TopicPartition("kp-records", 0)
    a = admin()
    a.delete_records({tp: 2})
    earliest = a.list_partition_offsets({tp: OffsetSpec.EARLIEST})[tp].offset
    a.close()
    check(earliest == 2, "DeleteRecords", f"log start offset {earliest}, want 2")
    c = consumer()
    c.assign([tp])
    c.seek_to_beginning(tp)
    first = drain(c, 1)
    c.close()
    check(first and first[0][1] == 2, "Fetch", f"first record after DeleteRecords {first}")


def delete_topics():
    a = admin()
    a.delete_topics(["kp-configs"])
    deadline = time.time() + 10
    while "kp-configs" in a.list_topics() and time.time() < deadline:
        time.sleep(0.2)
    topics = a.list_topics()
    a.close()
    check("kp-configs" not in topics, "DeleteTopics", f"topic still listed: {topics}")


def transactions():
    a = admin()
    a.create_topics({"kp-txn": {"num_partitions": 1, "replication_factor": 1}})
    tp = TopicPartition("kp-txn", 0)
    p = KafkaProducer(transactional_id="kp-txn", **PRODUCER)
    p.init_transactions()
    p.begin_transaction()
    for v in (b"c1", b"c2"):
        p.send("kp-txn", v, partition=0)
    p.commit_transaction()

    p.begin_transaction()
    p.send("kp-txn", b"a1", partition=0)
    p.flush()
    described = a.describe_transactions(["kp-txn"])["kp-txn"]
    check(described.state == "Ongoing", "DescribeTransactions", f"state {described.state}")
    check(described.topic_partitions == {tp}, "DescribeTransactions",
          f"partitions {described.topic_partitions}")
    listed = [t for ts in a.list_transactions(state_filters=["Ongoing"]).values() for t in ts]
    check([t.transactional_id for t in listed] == ["kp-txn"], "ListTransactions", f"listed {listed}")
    check(listed[0].producer_id == described.producer_id, "ListTransactions", f"listed {listed}")
    p.abort_transaction()

    p.begin_transaction()
    p.send("kp-txn", b"c3", partition=0)
    p.send_offsets_to_transaction({tp: OffsetAndMetadata(3, "", -1)}, "kp-txn-group")
    p.commit_transaction()
    p.close()

    c = consumer(isolation_level="read_committed")
    c.assign([tp])
    c.seek_to_beginning(tp)
    got = [r[3] for r in drain(c, 3)]
    c.close()
    check(got == [b"c1", b"c2", b"c3"], "Fetch", f"read_committed read {got}")
    committed = a.list_group_offsets("kp-txn-group").get("kp-txn-group", {})
    check(committed.get(tp) is not None and committed[tp].offset == 3, "TxnOffsetCommit",
          f"committed {committed}")
    a.close()


def main():
    produced = []

    def create():
        a = admin()
        create_topics(a)
        a.close()

    steps = [
        ("create topics", "CreateTopics", create),
        ("produce with keys, headers and every codec", "Produce",
         lambda: produced.extend(produce_every_codec())),
        ("consume from an explicit offset", "Fetch", lambda: consume_from_explicit_offsets(produced)),
        ("list offsets: earliest, latest, by timestamp", "ListOffsets", list_offsets),
        ("a group of two with commits and a rebalance", "JoinGroup", group_of_two_with_a_rebalance),
        ("describe and alter configs", "DescribeConfigs", describe_and_alter_configs),
        ("create partitions", "CreatePartitions", create_partitions),
        ("delete records", "DeleteRecords", delete_records),
        ("delete topics", "DeleteTopics", delete_topics),
        ("commit and abort transactions, described and listed", "EndTxn", transactions),
    ]
    for name, api, step in steps:
        started = time.time()
        try:
            step()
        except ScenarioFailed as e:
            print(f"kafka-python: {name} {e}", file=sys.stderr)
            return 1
        except KafkaError as e:
            code = getattr(e, "errno", None)
            print(f"kafka-python: {name} ({api}): {type(e).__name__} [error code {code}]: {e}",
                  file=sys.stderr)
            return 1
        except Exception as e:  # a client-side failure fails the scenario too
            print(f"kafka-python: {name} ({api}): {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"ok: {name} ({(time.time() - started) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
