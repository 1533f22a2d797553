"""The admin API surface and transactions through confluent-kafka
(Confluent's Python client, librdkafka inside). Usage:
confluent_kafka_scenarios.py HOST:PORT

Each scenario asserts what the broker answered. The first failure is
reported as "confluent-kafka: <scenario> (<API>): <error>" with the Kafka
error code when the broker sent one, and the script exits 1.
"""

import sys
import time

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

BOOTSTRAP = sys.argv[1]
TIMEOUT = 15


class ScenarioFailed(Exception):
    pass


def check(condition, api, message):
    if not condition:
        raise ScenarioFailed(f"({api}): {message}")


def done(futures):
    """Waits for every future of an admin call; returns their results."""
    return {k: f.result(timeout=TIMEOUT) for k, f in futures.items()}


admin = AdminClient({"bootstrap.servers": BOOTSTRAP})


def cluster():
    described = admin.describe_cluster().result(timeout=TIMEOUT)
    check(len(described.nodes) == 1, "DescribeCluster", f"nodes {described.nodes}")
    check(described.controller is not None, "DescribeCluster", "no controller")
    check(described.cluster_id, "DescribeCluster", "no cluster id")


def topics():
    done(admin.create_topics([
        NewTopic("ck-admin", num_partitions=2, replication_factor=1, config={"cleanup.policy": "delete"}),
        NewTopic("ck-gone", num_partitions=1, replication_factor=1),
    ]))
    try:
        done(admin.create_topics([NewTopic("ck-admin", num_partitions=1, replication_factor=1)]))
        raise ScenarioFailed("(CreateTopics): creating an existing topic succeeded")
    except KafkaException as e:
        check(e.args[0].name() == "TOPIC_ALREADY_EXISTS", "CreateTopics", f"got {e}")
    described = done(admin.describe_topics(TopicCollection(["ck-admin"])))["ck-admin"]
    check(len(described.partitions) == 2, "DescribeTopics", f"partitions {described.partitions}")
    done(admin.create_partitions([NewPartitions("ck-admin", 4)]))
    listed = admin.list_topics(timeout=TIMEOUT).topics
    check(len(listed["ck-admin"].partitions) == 4, "CreatePartitions", f"{listed['ck-admin'].partitions}")
    done(admin.delete_topics(["ck-gone"]))
    deadline = time.time() + 10
    while "ck-gone" in admin.list_topics(timeout=TIMEOUT).topics and time.time() < deadline:
        time.sleep(0.2)
    check("ck-gone" not in admin.list_topics(timeout=TIMEOUT).topics, "DeleteTopics", "topic still listed")


def configs():
    resource = ConfigResource(ConfigResource.Type.TOPIC, "ck-admin")
    done(admin.incremental_alter_configs([ConfigResource(
        ConfigResource.Type.TOPIC, "ck-admin",
        incremental_configs=[ConfigEntry("retention.ms", "3600000",
                                         incremental_operation=AlterConfigOpType.SET)],
    )]))
    entries = done(admin.describe_configs([resource]))[resource]
    check(entries["retention.ms"].value == "3600000", "IncrementalAlterConfigs",
          f"retention.ms {entries['retention.ms'].value}")
    check(entries["cleanup.policy"].value == "delete", "DescribeConfigs",
          f"cleanup.policy {entries['cleanup.policy'].value}")
    done(admin.incremental_alter_configs([ConfigResource(
        ConfigResource.Type.TOPIC, "ck-admin",
        incremental_configs=[ConfigEntry("retention.ms", None,
                                         incremental_operation=AlterConfigOpType.DELETE)],
    )]))
    entries = done(admin.describe_configs([resource]))[resource]
    check(entries["retention.ms"].is_default, "IncrementalAlterConfigs", "retention.ms is not back to its default")


def offsets_and_records():
    p = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(10):
        p.produce("ck-admin", value=b"%d" % i, partition=0, timestamp=1_700_000_000_000 + i * 1000)
    check(p.flush(TIMEOUT) == 0, "Produce", "records left unsent")
    tp = TopicPartition("ck-admin", 0)
    latest = done(admin.list_offsets({tp: OffsetSpec.latest()}))[tp]
    check(latest.offset == 10, "ListOffsets", f"latest {latest.offset}")
    by_time = done(admin.list_offsets({tp: OffsetSpec.for_timestamp(1_700_000_004_500)}))[tp]
    check(by_time.offset == 5, "ListOffsets", f"by timestamp {by_time.offset}")
    deleted = done(admin.delete_records([TopicPartition("ck-admin", 0, 3)]))
    check(list(deleted.values())[0].low_watermark == 3, "DeleteRecords", f"{deleted}")
    earliest = done(admin.list_offsets({tp: OffsetSpec.earliest()}))[tp]
    check(earliest.offset == 3, "ListOffsets", f"earliest after DeleteRecords {earliest.offset}")


def groups():
    c = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": "ck-group",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe(["ck-admin"])
    seen = 0
    deadline = time.time() + 20
    while seen < 7 and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            seen += 1
    check(seen == 7, "Fetch", f"read {seen} of the 7 records left")
    c.commit(asynchronous=False)

    listed = admin.list_consumer_groups().result(timeout=TIMEOUT)
    ids = {g.group_id: g for g in listed.valid}
    check("ck-group" in ids, "ListGroups", f"groups {list(ids)}")
    described = done(admin.describe_consumer_groups(["ck-group"]))["ck-group"]
    check(len(described.members) == 1, "DescribeGroups", f"members {described.members}")
    check(str(described.state).endswith("STABLE"), "DescribeGroups", f"state {described.state}")
    try:
        done(admin.delete_consumer_groups(["ck-group"]))
        raise ScenarioFailed("(DeleteGroups): a group with a member was deleted")
    except KafkaException as e:
        check(e.args[0].name() == "NON_EMPTY_GROUP", "DeleteGroups", f"got {e}")
    c.close()

    request = [ConsumerGroupTopicPartitions("ck-group", [TopicPartition("ck-admin", 0)])]
    committed = done(admin.list_consumer_group_offsets(request))["ck-group"]
    check(committed.topic_partitions[0].offset == 10, "OffsetFetch", f"{committed.topic_partitions}")
    reset = [ConsumerGroupTopicPartitions("ck-group", [TopicPartition("ck-admin", 0, 5)])]
    done(admin.alter_consumer_group_offsets(reset))
    committed = done(admin.list_consumer_group_offsets(request))["ck-group"]
    check(committed.topic_partitions[0].offset == 5, "OffsetCommit", f"{committed.topic_partitions}")
    done(admin.delete_consumer_groups(["ck-group"]))
    listed = admin.list_consumer_groups().result(timeout=TIMEOUT)
    check("ck-group" not in {g.group_id for g in listed.valid}, "DeleteGroups", "group still listed")


def read_all(isolation, expected):
    """Values of ck-txn partition 0 read from the start at `isolation`."""
    c = Consumer({
        "bootstrap.servers": BOOTSTRAP,
        "group.id": f"ck-txn-reader-{isolation}",
        "isolation.level": isolation,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    c.assign([TopicPartition("ck-txn", 0, 0)])
    values = []
    deadline = time.time() + 10
    while len(values) < expected and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            values.append(m.value().decode())
    c.close()
    return values


def transactions():
    done(admin.create_topics([NewTopic("ck-txn", num_partitions=1, replication_factor=1)]))
    p = Producer({"bootstrap.servers": BOOTSTRAP, "transactional.id": "ck-txn-producer"})
    p.init_transactions(TIMEOUT)
    for values, commit in [(["c1", "c2"], True), (["a1"], False), (["c3"], True)]:
        p.begin_transaction()
        for v in values:
            p.produce("ck-txn", value=v.encode(), partition=0)
        if commit:
            p.commit_transaction(TIMEOUT)
        else:
            p.flush(TIMEOUT)
            p.abort_transaction(TIMEOUT)
    committed = read_all("read_committed", 3)
    check(committed == ["c1", "c2", "c3"], "Fetch", f"read_committed saw {committed}")
    uncommitted = read_all("read_uncommitted", 4)
    check(uncommitted == ["c1", "c2", "a1", "c3"], "Fetch", f"read_uncommitted saw {uncommitted}")

    # Offsets sent to a transaction count only if it commits.
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "ck-txn-group", "enable.auto.commit": False})
    for offset, commit in [(2, False), (4, True)]:
        p.begin_transaction()
        p.produce("ck-txn", value=b"with-offsets", partition=0)
        p.send_offsets_to_transaction(
            [TopicPartition("ck-txn", 0, offset)], c.consumer_group_metadata(), TIMEOUT)
        if commit:
            p.commit_transaction(TIMEOUT)
        else:
            p.abort_transaction(TIMEOUT)
        request = [ConsumerGroupTopicPartitions("ck-txn-group", [TopicPartition("ck-txn", 0)])]
        stored = done(admin.list_consumer_group_offsets(request))["ck-txn-group"].topic_partitions[0].offset
        want = offset if commit else -1001
        check(stored == want, "TxnOffsetCommit", f"committed offset {stored} after {'commit' if commit else 'abort'}")
    c.close()


def main():
    steps = [
        ("describe the cluster", "DescribeCluster", cluster),
        ("create, describe, grow and delete topics", "CreateTopics", topics),
        ("describe and incrementally alter configs", "DescribeConfigs", configs),
        ("list offsets and delete records", "ListOffsets", offsets_and_records),
        ("list, describe, reset and delete a group", "ListGroups", groups),
        ("commit and abort transactions, with offsets", "EndTxn", transactions),
    ]
    for name, api, step in steps:
        started = time.time()
        try:
            step()
        except ScenarioFailed as e:
            print(f"confluent-kafka: {name} {e}", file=sys.stderr)
            return 1
        except KafkaException as e:
            error = e.args[0]
            print(f"confluent-kafka: {name} ({api}): {error.name()} [error code {error.code()}]: {error.str()}",
                  file=sys.stderr)
            return 1
        except Exception as e:  # a client-side failure fails the scenario too
            print(f"confluent-kafka: {name} ({api}): {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"ok: {name} ({(time.time() - started) * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
