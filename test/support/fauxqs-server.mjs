// fauxqs (an SQS emulator; ESM-only) in a child process of its own, bound to 127.0.0.1 on a
// port the OS picks. It counts the SQS requests it serves by action, so that benchmarks and tests
// can count requests at the emulator rather than trust the client. Started by fauxqs.ts over IPC:
// it exits when the IPC channel closes, so it dies with the process that started it (even on
// SIGKILL of that process).
import { buildApp } from 'fauxqs';

// fauxqs names queues http://sqs.<region>.localhost:<port>/...; SDK clients then send requests to
// that host, a DNS name. With an empty host it names them after the request's Host header
// (127.0.0.1:<port>), so traffic stays on the loopback address. The stores are not exported by
// the package, hence the import by path next to its entry point.
const dist = new URL('.', import.meta.resolve('fauxqs'));
const { SqsStore } = await import(new URL('sqs/sqsStore.js', dist).href);
const { SnsStore } = await import(new URL('sns/snsStore.js', dist).href);
const { S3Store } = await import(new URL('s3/s3Store.js', dist).href);
const sqsStore = new SqsStore();
sqsStore.host = '';

// Requests by action, in total and per queue (named by the last segment of its URL).
const counts = { total: {}, byQueue: {} };
const add = (into, action) => { into[action] = (into[action] ?? 0) + 1; };
const app = buildApp({ logger: false, stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } });
// preHandler: the JSON body (with its QueueUrl) is parsed by then.
app.addHook('preHandler', (request, _reply, done) => {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') {
    const action = target.slice(target.indexOf('.') + 1);
    add(counts.total, action);
    const queueUrl = request.body?.QueueUrl;
    if (typeof queueUrl === 'string') add((counts.byQueue[queueUrl.slice(queueUrl.lastIndexOf('/') + 1)] ??= {}), action);
  }
  done();
});

process.on('disconnect', () => process.exit(0));
process.on('message', (message) => {
  if (message?.type === 'counts') process.send({ type: 'counts', id: message.id, counts: message.queue === undefined ? counts.total : (counts.byQueue[message.queue] ?? {}) });
  if (message?.type === 'stop') app.close().then(() => process.exit(0));
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.send({ type: 'ready', address });
