// SASL scenarios driven by kafkajs on a SASL_PLAINTEXT listener, or on a
// SASL_SSL one when the CA that signed the broker's certificate is given.
// Usage: node kafkajs_sasl.js HOST:PORT [CA.pem]
//
// The broker has PLAIN user alice/alice-secret, SCRAM-SHA-256 user
// carol/carol-secret and SCRAM-SHA-512 user dave/dave-secret, and takes
// unsecured OAUTHBEARER tokens. Each mechanism produces and consumes one
// record; a wrong password fails with kafkajs's SASL authentication error.
// The first failure is reported as "kafkajs: <scenario>: <error>", exit 1.

'use strict'

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const ca = process.argv[3]

const b64 = (s) => Buffer.from(s).toString('base64url')

function unsecuredToken() {
  const now = Math.floor(Date.now() / 1000)
  const claims = JSON.stringify({ sub: 'erin', iat: now, exp: now + 3600 })
  return `${b64(JSON.stringify({ alg: 'none' }))}.${b64(claims)}.`
}

function client(mechanism, username, password, retries = 3) {
  const sasl =
    mechanism === 'oauthbearer'
      ? { mechanism, oauthBearerProvider: async () => ({ value: unsecuredToken() }) }
      : { mechanism, username, password }
  return new Kafka({
    clientId: 'gregor-compat-sasl',
    brokers: [process.argv[2]],
    sasl,
    ssl: ca ? { ca: [fs.readFileSync(ca)] } : false,
    logLevel: logLevel.NOTHING,
    retry: { retries },
  })
}

async function produceAndConsume(mechanism, username, password) {
  const kafka = client(mechanism, username, password)
  const topic = `kj-sasl-${mechanism}`
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'hello' }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 300 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const value = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing consumed from ${topic}`)), 20000)
    consumer
      .run({
        eachMessage: async ({ message }) => {
          clearTimeout(timer)
          resolve(message.value.toString())
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  if (value !== 'hello') throw new Error(`consumed ${value} from ${topic}`)
}

async function wrongPasswordFails(mechanism, username) {
  const producer = client(mechanism, username, 'wrong', 0).producer()
  try {
    await producer.connect()
  } catch (e) {
    if (e.name === 'KafkaJSSASLAuthenticationError') return
    throw new Error(`expected KafkaJSSASLAuthenticationError, got ${e.name}: ${e.message}`)
  }
  throw new Error(`${mechanism} with a wrong password connected`)
}

async function main() {
  const steps = [
    ['PLAIN produces and consumes', () => produceAndConsume('plain', 'alice', 'alice-secret')],
    ['SCRAM-SHA-256 produces and consumes', () => produceAndConsume('scram-sha-256', 'carol', 'carol-secret')],
    ['SCRAM-SHA-512 produces and consumes', () => produceAndConsume('scram-sha-512', 'dave', 'dave-secret')],
    ['OAUTHBEARER produces and consumes', () => produceAndConsume('oauthbearer')],
    ['PLAIN with a wrong password fails', () => wrongPasswordFails('plain', 'alice')],
    ['SCRAM-SHA-256 with a wrong password fails', () => wrongPasswordFails('scram-sha-256', 'carol')],
    ['SCRAM-SHA-512 with a wrong password fails', () => wrongPasswordFails('scram-sha-512', 'dave')],
  ]
  for (const [name, step] of steps) {
    const started = Date.now()
    try {
      await step()
    } catch (e) {
      console.error(`kafkajs: ${name}: ${e.name}: ${e.message}`)
      process.exit(1)
    }
    console.log(`ok: ${name} (${Date.now() - started} ms)`)
  }
}

main()
