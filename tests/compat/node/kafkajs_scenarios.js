// Conformance scenarios driven by kafkajs, a pure JavaScript Kafka client
// that shares no code with librdkafka. Usage: node kafkajs_scenarios.js HOST:PORT
//
// Each scenario asserts the exact records or values it gets back. The first
// failure is reported as "kafkajs: <scenario> (<API>): <error>" with the
// Kafka error code when the broker sent one, and the script exits 1.

'use strict'

const {
  Kafka,
  CompressionTypes,
  CompressionCodecs,
  ConfigResourceTypes,
  logLevel,
} = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
// kafkajs takes codecs as a pair of functions; lz4js writes and reads the
// LZ4 frame format Kafka uses, in plain JavaScript.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder) => Buffer.from(lz4.compress(encoder.buffer)),
  decompress: async (buffer) => Buffer.from(lz4.decompress(buffer)),
})

// A consumer's disconnect waits out its fetch in flight, which the broker
// holds for up to this long when there is nothing new to read.
const FETCH_WAIT_MS = 300

// zstd needs @kafkajs/zstd, a native module; these codecs are plain JavaScript.
const CODECS = ['None', 'GZIP', 'Snappy', 'LZ4']

const kafka = new Kafka({
  clientId: 'gregor-compat',
  brokers: [process.argv[2]],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3 },
})

class ScenarioFailed extends Error {}

function check(condition, api, message) {
  if (!condition) {
    const e = new ScenarioFailed(message)
    e.api = api
    throw e
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition, ms = 20000) {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await sleep(50)
  return condition()
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const byPosition = (a, b) => a.partition - b.partition || a.offset - b.offset

function record(partition, message) {
  const headers = Object.entries(message.headers || {})
    .map(([k, v]) => [k, Buffer.from(v).toString('hex')])
    .sort()
  return {
    partition,
    offset: Number(message.offset),
    key: message.key && message.key.toString(),
    value: message.value && message.value.toString(),
    headers,
  }
}

async function withAdmin(f) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await f(admin)
  } finally {
    await admin.disconnect()
  }
}

async function createTopics() {
  await withAdmin(async (admin) => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: 'kj-records', numPartitions: 3, replicationFactor: 1 },
        { topic: 'kj-times', numPartitions: 1, replicationFactor: 1 },
        { topic: 'kj-group', numPartitions: 4, replicationFactor: 1 },
        {
          topic: 'kj-configs',
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: '86400000' }],
        },
      ],
    })
    const topics = await admin.listTopics()
    for (const t of ['kj-records', 'kj-times', 'kj-group', 'kj-configs']) {
      check(topics.includes(t), 'Metadata', `created topic ${t} is not listed: ${topics}`)
    }
  })
}

async function produceEveryCodec() {
  const producer = kafka.producer()
  await producer.connect()
  const expected = []
  for (const codec of CODECS) {
    for (let i = 0; i < 4; i++) {
      const message = {
        partition: i % 3,
        key: `${codec}-${i}`,
        value: `value ${i} under ${codec} `.repeat(10),
        headers: { codec, i: Buffer.from([i]) },
      }
      const [meta] = await producer.send({
        topic: 'kj-records',
        acks: -1,
        compression: CompressionTypes[codec],
        messages: [message],
      })
      check(meta.errorCode === 0, 'Produce', `error code ${meta.errorCode}`)
      expected.push(record(meta.partition, { ...message, offset: meta.baseOffset }))
    }
  }
  await producer.disconnect()
  const got = await consume('kj-read-all', 'kj-records', expected.length)
  check(same(got.sort(byPosition), expected.sort(byPosition)), 'Fetch',
    `read back ${JSON.stringify(got)}, produced ${JSON.stringify(expected)}`)
  return expected
}

// Reads `want` records as a fresh group from the beginning; `seek` runs
// once the consumer runs.
async function consume(groupId, topic, want, seek) {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_WAIT_MS })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      got.push(record(partition, message))
    },
  })
  if (seek) seek(consumer)
  await until(() => got.length >= want)
  await consumer.disconnect()
  return got
}

async function consumeFromAnExplicitOffset(expected) {
  const want = expected.filter((r) => r.partition === 1 && r.offset >= 3)
  const got = await consume('kj-seek', 'kj-records', expected.length - 3, (c) =>
    c.seek({ topic: 'kj-records', partition: 1, offset: '3' }))
  const fromThree = got.filter((r) => r.partition === 1 && r.offset >= 3).sort(byPosition)
  check(same(fromThree, want), 'Fetch', `from offset 3 read ${JSON.stringify(fromThree)}`)
}

async function listOffsets() {
  const base = Date.now() - 10000
  const producer = kafka.producer()
  await producer.connect()
  for (let i = 0; i < 3; i++) {
    await producer.send({
      topic: 'kj-times',
      acks: -1,
      messages: [{ value: `t${i}`, timestamp: String(base + i * 1000) }],
    })
  }
  await producer.disconnect()
  await withAdmin(async (admin) => {
    const [offsets] = await admin.fetchTopicOffsets('kj-times')
    check(offsets.low === '0' && offsets.high === '3', 'ListOffsets',
      `earliest/latest ${JSON.stringify(offsets)}`)
    const [byTime] = await admin.fetchTopicOffsetsByTimestamp('kj-times', base + 500)
    check(byTime.offset === '1', 'ListOffsets', `by timestamp ${JSON.stringify(byTime)}`)
  })
}

async function groupOfTwoWithARebalance() {
  const producer = kafka.producer()
  await producer.connect()
  const sendRange = async (from, to) => {
    const messages = []
    for (let i = from; i < to; i++) messages.push({ partition: i % 4, value: String(i) })
    await producer.send({ topic: 'kj-group', acks: -1, messages })
  }
  await sendRange(0, 40)

  const seen = []
  const assignments = {}
  const member = async (name) => {
    const c = kafka.consumer({
      groupId: 'kj-group',
      rebalanceTimeout: 10000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    })
    c.on(c.events.GROUP_JOIN, (e) => {
      assignments[name] = (e.payload.memberAssignment['kj-group'] || []).slice().sort()
    })
    await c.connect()
    await c.subscribe({ topic: 'kj-group', fromBeginning: true })
    await c.run({
      autoCommitInterval: 100,
      eachMessage: async ({ message }) => {
        seen.push(Number(message.value.toString()))
      },
    })
    return c
  }
  const first = await member('first')
  check(await until(() => seen.length >= 40), 'JoinGroup/Fetch', `the only member read ${seen.length} of 40`)
  const second = await member('second')
  const split = () => assignments.first && assignments.second &&
    assignments.first.length === 2 && assignments.second.length === 2
  check(await until(split), 'JoinGroup/SyncGroup',
    `members did not split four partitions: ${JSON.stringify(assignments)}`)
  const joined = new Set([...assignments.first, ...assignments.second])
  check(joined.size === 4, 'SyncGroup', `overlapping assignments ${JSON.stringify(assignments)}`)

  await sendRange(40, 80)
  await producer.disconnect()
  check(await until(() => seen.length >= 80), 'Fetch', `the group read ${seen.length} of 80`)
  const sorted = seen.slice().sort((a, b) => a - b)
  check(same(sorted, [...Array(80).keys()]), 'Fetch', `every value once: ${JSON.stringify(sorted)}`)
  await first.disconnect()
  await second.disconnect()

  await withAdmin(async (admin) => {
    const [committed] = await admin.fetchOffsets({ groupId: 'kj-group', topics: ['kj-group'] })
    const offsets = committed.partitions.map((p) => [p.partition, p.offset]).sort()
    check(same(offsets, [[0, '20'], [1, '20'], [2, '20'], [3, '20']]), 'OffsetFetch',
      `committed ${JSON.stringify(offsets)}`)
  })
}

async function describeAndAlterConfigs() {
  await withAdmin(async (admin) => {
    const retention = async () => {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kj-configs', configNames: ['retention.ms'] }],
      })
      return described.resources[0].configEntries.find((e) => e.configName === 'retention.ms').configValue
    }
    check(await retention() === '86400000', 'DescribeConfigs', `retention.ms ${await retention()}`)
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: 'kj-configs',
        configEntries: [{ name: 'retention.ms', value: '3600000' }],
      }],
    })
    check(await retention() === '3600000', 'AlterConfigs', `retention.ms after alter ${await retention()}`)
  })
}

async function createPartitions() {
  await withAdmin(async (admin) => {
    await admin.createPartitions({ topicPartitions: [{ topic: 'kj-records', count: 5 }] })
    const { topics } = await admin.fetchTopicMetadata({ topics: ['kj-records'] })
    const ids = topics[0].partitions.map((p) => p.partitionId).sort()
    check(same(ids, [0, 1, 2, 3, 4]), 'CreatePartitions', `partitions now ${ids}`)
  })
}

async function deleteRecords() {
  await withAdmin(async (admin) => {
    // kafkajs looks the leaders up in metadata it must already hold.
    await admin.fetchTopicMetadata({ topics: ['kj-records'] })
    await admin.deleteTopicRecords({ topic: 'kj-records', partitions: [{ partition: 0, offset: '2' }] })
    const offsets = await admin.fetchTopicOffsets('kj-records')
    const p0 = offsets.find((o) => o.partition === 0)
    check(p0.low === '2', 'DeleteRecords', `log start offset ${p0.low}, want 2`)
  })
}

async function deleteTopics() {
  await withAdmin(async (admin) => {
    await admin.deleteTopics({ topics: ['kj-configs'] })
    let topics = await admin.listTopics()
    for (let i = 0; i < 50 && topics.includes('kj-configs'); i++) {
      await sleep(200)
      topics = await admin.listTopics()
    }
    check(!topics.includes('kj-configs'), 'DeleteTopics', `topic still listed: ${topics}`)
  })
}

async function transactions() {
  await withAdmin((admin) => admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: 'kj-txn', numPartitions: 1, replicationFactor: 1 }],
  }))
  const producer = kafka.producer({ transactionalId: 'kj-txn', idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const steps = [[['c1', 'c2'], true], [['a1'], false], [['c3'], true]]
  for (const [values, commit] of steps) {
    const txn = await producer.transaction()
    await txn.send({ topic: 'kj-txn', messages: values.map((value) => ({ partition: 0, value })) })
    if (commit) {
      await txn.sendOffsets({
        consumerGroupId: 'kj-txn-group',
        topics: [{ topic: 'kj-txn', partitions: [{ partition: 0, offset: String(values.length) }] }],
      })
      await txn.commit()
    } else {
      await txn.abort()
    }
  }
  await producer.disconnect()
  const got = (await consume('kj-txn-read', 'kj-txn', 3)).map((r) => r.value)
  check(same(got, ['c1', 'c2', 'c3']), 'Fetch', `read_committed read ${JSON.stringify(got)}`)
  await withAdmin(async (admin) => {
    const [{ partitions }] = await admin.fetchOffsets({ groupId: 'kj-txn-group', topics: ['kj-txn'] })
    check(partitions[0].offset === '1', 'TxnOffsetCommit',
      `committed offset ${partitions[0].offset}, want the last committed transaction's 1`)
  })
}

async function main() {
  let produced = []
  const steps = [
    ['create topics', 'CreateTopics', createTopics],
    ['produce with keys, headers and every codec', 'Produce', async () => { produced = await produceEveryCodec() }],
    ['consume from an explicit offset', 'Fetch', () => consumeFromAnExplicitOffset(produced)],
    ['list offsets: earliest, latest, by timestamp', 'ListOffsets', listOffsets],
    ['a group of two with commits and a rebalance', 'JoinGroup', groupOfTwoWithARebalance],
    ['describe and alter configs', 'DescribeConfigs', describeAndAlterConfigs],
    ['create partitions', 'CreatePartitions', createPartitions],
    ['delete records', 'DeleteRecords', deleteRecords],
    ['delete topics', 'DeleteTopics', deleteTopics],
    ['commit and abort transactions, with offsets', 'EndTxn', transactions],
  ]
  for (const [name, api, step] of steps) {
    const started = Date.now()
    try {
      await step()
    } catch (e) {
      const code = e.type ? ` ${e.type} [error code ${e.code}]` : ` ${e.name}`
      console.error(`kafkajs: ${name} (${e.api || api}):${code}: ${e.message}`)
      return 1
    }
    console.log(`ok: ${name} (${Date.now() - started} ms)`)
  }
  return 0
}

main().then((code) => process.exit(code), (e) => {
  console.error(`kafkajs: ${e.stack}`)
  process.exit(1)
})
