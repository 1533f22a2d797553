"""Share groups (KIP-932) through confluent-kafka's ShareConsumer
(librdkafka inside). Usage:
share_groups.py HOST:PORT LOCK_MS DELIVERY_LIMIT

The broker runs with group.share.record.lock.duration.ms=LOCK_MS and
group.share.delivery.count.limit=DELIVERY_LIMIT. Each scenario prints one
line when it passes; the first failure is reported as
"share groups: <scenario>: <what>" and the script exits 1.

share_groups.py HOST:PORT hold GROUP TOPIC is the consumer the
redelivery scenario kills: it prints the offsets it acquired, then waits
to be killed without acknowledging them.

share_groups.py HOST:PORT,... read GROUP TOPIC IDLE_S is a member that
prints each record's value as it accepts it, until IDLE_S seconds pass
without a record (it::share_cluster kills a partition leader meanwhile).
"""

import os
import subprocess
import sys
import time

from confluent_kafka import AcknowledgeType, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

BOOTSTRAP = sys.argv[1]
TIMEOUT = 30


class ScenarioFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise ScenarioFailed(message)


def share_group(group, topic, records, explicit=False, extra=None):
    """Makes `topic` with one partition holding `records` records, makes
    `group` start from the earliest offset, and returns a subscribed
    consumer of it."""
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=TIMEOUT)
    earliest = ConfigEntry(
        "share.auto.offset.reset",
        "earliest",
        incremental_operation=AlterConfigOpType.SET,
    )
    resource = ConfigResource(ResourceType.GROUP, group, incremental_configs=[earliest])
    for f in admin.incremental_alter_configs([resource]).values():
        f.result(timeout=TIMEOUT)
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(records):
        producer.produce(topic, value=b"record-%d" % i)
    check(producer.flush(TIMEOUT) == 0, "records were not all produced")
    return consumer(group, topic, explicit, extra)


def consumer(group, topic, explicit=False, extra=None):
    config = {"bootstrap.servers": BOOTSTRAP, "group.id": group}
    if explicit:
        config["share.acknowledgement.mode"] = "explicit"
    config.update(extra or {})
    c = ShareConsumer(config)
    c.subscribe([topic])
    return c


def records(messages):
    for m in messages:
        if m.error():
            raise ScenarioFailed(f"poll returned an error: {m.error()}")
        yield m


def three_consumers_share_one_partition():
    """Every record is delivered, to one of the three consumers, once."""
    total = 300
    small = {"max.poll.records": 10}
    first = share_group("sg-three", "share-three", total, extra=small)
    consumers = [first] + [consumer("sg-three", "share-three", extra=small) for _ in range(2)]
    seen = {}
    per_consumer = [0, 0, 0]
    deadline = time.time() + 60
    while len(seen) < total and time.time() < deadline:
        for i, c in enumerate(consumers):
            for m in records(c.poll(0.2)):
                check(
                    m.offset() not in seen,
                    f"offset {m.offset()} delivered twice (consumers {seen.get(m.offset())} and {i})",
                )
                seen[m.offset()] = i
                per_consumer[i] += 1
    for c in consumers:
        c.close()
    check(len(seen) == total, f"{len(seen)} of {total} records delivered")
    check(sorted(seen) == list(range(total)), "offsets delivered are not 0..N-1")
    check(all(n > 0 for n in per_consumer), f"records per consumer {per_consumer}")
    return f"{total} records, per consumer {per_consumer}"


def hold(group, topic):
    """Acquires records and keeps them unacknowledged until killed."""
    c = consumer(group, topic, explicit=True)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        got = [m.offset() for m in records(c.poll(0.5))]
        if got:
            print(" ".join(str(o) for o in got), flush=True)
            time.sleep(3600)
    sys.exit(2)


def read(group, topic, idle_s):
    """Prints each record's value and accepts it (implicit mode, the
    acknowledgements committed after each poll), until idle."""
    c = consumer(group, topic)
    last = time.time()
    while time.time() - last < idle_s:
        messages = c.poll(0.5)
        # A poll error (the leader gone) is the client's to retry.
        values = [m.value().decode() for m in messages if not m.error()]
        if values:
            print("\n".join(values), flush=True)
            last = time.time()
        c.commit_sync()
    c.close()


def killed_consumer_records_are_redelivered(lock_ms):
    """What a consumer killed with records in flight held comes to another
    consumer: as its connection closes, since the broker drops a closed
    connection's share sessions and gives back what their member held
    (Kafka's share session cache), without waiting for the lock."""
    group, topic = "sg-killed", "share-killed"
    share_group(group, topic, 5).close()
    holder = subprocess.Popen(
        [sys.executable, __file__, BOOTSTRAP, "hold", group, topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    held = [int(o) for o in holder.stdout.readline().split()]
    acquired_at = time.time()
    holder.kill()
    holder.wait()
    check(held, "the consumer to kill acquired nothing")
    other = consumer(group, topic)
    redelivered = {}
    deadline = time.time() + TIMEOUT
    while len(redelivered) < len(held) and time.time() < deadline:
        for m in records(other.poll(0.5)):
            redelivered.setdefault(m.offset(), time.time() - acquired_at)
    other.close()
    check(
        sorted(redelivered) == sorted(held),
        f"held {held}, redelivered {sorted(redelivered)}",
    )
    earliest = min(redelivered.values())
    return f"offsets {held} redelivered after {earliest:.1f} s (lock {lock_ms} ms)"


def released_records_come_back_and_rejected_do_not():
    """RELEASE makes a record available again; REJECT and ACCEPT finish it."""
    c = share_group("sg-acks", "share-acks", 4, explicit=True)
    kinds = {
        0: AcknowledgeType.ACCEPT,
        1: AcknowledgeType.REJECT,
        2: AcknowledgeType.RELEASE,
        3: AcknowledgeType.ACCEPT,
    }
    first = []
    deadline = time.time() + TIMEOUT
    while len(first) < 4 and time.time() < deadline:
        batch = list(records(c.poll(0.5)))
        for m in batch:
            first.append(m.offset())
            c.acknowledge(m, kinds[m.offset()])
        if batch:
            c.commit_sync()
    check(sorted(first) == [0, 1, 2, 3], f"first deliveries {first}")
    again = []
    deadline = time.time() + 5
    while time.time() < deadline:
        for m in records(c.poll(0.5)):
            again.append(m.offset())
            c.acknowledge(m, AcknowledgeType.ACCEPT)
        c.commit_sync()
    c.close()
    check(again == [2], f"after the acknowledgements, delivered again: {again} (want [2])")
    return "RELEASE redelivered offset 2; REJECT and ACCEPT not"


def archived_after_the_delivery_limit(limit):
    """A record released every time is delivered `limit` times, then archived."""
    c = share_group("sg-limit", "share-limit", 1, explicit=True)
    deliveries = 0
    deadline = time.time() + TIMEOUT
    last = time.time()
    while time.time() < deadline and time.time() - last < 5:
        for m in records(c.poll(0.5)):
            check(m.offset() == 0, f"unexpected offset {m.offset()}")
            deliveries += 1
            last = time.time()
            c.acknowledge(m, AcknowledgeType.RELEASE)
        c.commit_sync()
    c.close()
    check(deliveries == limit, f"delivered {deliveries} times, limit {limit}")
    return f"delivered {deliveries} times, then archived"


def main():
    if sys.argv[2] == "hold":
        hold(sys.argv[3], sys.argv[4])
        return
    if sys.argv[2] == "read":
        read(sys.argv[3], sys.argv[4], float(sys.argv[5]))
        return
    lock_ms, limit = int(sys.argv[2]), int(sys.argv[3])
    scenarios = [
        ("three consumers share one partition", three_consumers_share_one_partition),
        (
            "killed consumer's records are redelivered",
            lambda: killed_consumer_records_are_redelivered(lock_ms),
        ),
        (
            "RELEASE redelivers, REJECT does not",
            released_records_come_back_and_rejected_do_not,
        ),
        ("archived after the delivery limit", lambda: archived_after_the_delivery_limit(limit)),
    ]
    only = os.environ.get("SHARE_SCENARIO")
    for name, scenario in scenarios:
        if only and only not in name:
            continue
        try:
            detail = scenario()
        except (ScenarioFailed, Exception) as e:  # noqa: BLE001 - reported, then exit 1
            print(f"share groups: {name}: {e}", flush=True)
            sys.exit(1)
        print(f"ok: {name}: {detail}", flush=True)


main()
