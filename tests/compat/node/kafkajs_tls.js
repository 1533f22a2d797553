// kafkajs over TLS with a client certificate (mTLS).
// Usage: node kafkajs_tls.js HOST:PORT CA_PEM CERT_PEM KEY_PEM
//
// Produces to a topic the broker creates on first use and reads the
// records back, through the SSL listener only. The first failure is
// reported as "kafkajs tls: <step>: <error>" and the script exits 1.

'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, ca, cert, key] = process.argv.slice(2, 6)
const kafka = new Kafka({
  clientId: 'gregor-compat-tls',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3 },
  ssl: {
    ca: [fs.readFileSync(ca, 'utf8')],
    cert: fs.readFileSync(cert, 'utf8'),
    key: fs.readFileSync(key, 'utf8'),
  },
})
const TOPIC = 'kafkajs-tls'
const VALUES = ['one', 'two', 'three']

async function produce() {
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  await producer.send({
    topic: TOPIC,
    messages: VALUES.map((value) => ({ value, partition: 0 })),
  })
  await producer.disconnect()
}

async function consume() {
  const consumer = kafka.consumer({ groupId: 'kafkajs-tls', maxWaitTimeInMs: 300 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read only ${JSON.stringify(got)}`)), 30000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          got.push(message.value.toString())
          if (got.length >= VALUES.length) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  if (JSON.stringify(got) !== JSON.stringify(VALUES)) {
    throw new Error(`read ${JSON.stringify(got)}, expected ${JSON.stringify(VALUES)}`)
  }
}

async function main() {
  for (const [name, step] of [
    ['produce over mTLS', produce],
    ['consume over mTLS', consume],
  ]) {
    const started = Date.now()
    try {
      await step()
    } catch (e) {
      console.error(`kafkajs tls: ${name}: ${e.name}: ${e.message}`)
      process.exit(1)
    }
    console.log(`ok: ${name} (${Date.now() - started} ms)`)
  }
}

main()
