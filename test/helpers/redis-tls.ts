/**
 * TLS for tests: certificates made with the `openssl` CLI in a temporary directory (a CA, a server
 * certificate for 127.0.0.1 and localhost, a client certificate, and a second CA that signed
 * neither), and a private `redis-server` that speaks only TLS on a free loopback port, asks for
 * client certificates and a password. Both are removed on the test's teardown (the server also on
 * the process's exit if the test crashes first), like test/helpers/redis-server.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import type { Test } from 'tap';
import { answersPing } from './redis-server.js';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_KEPT_CHARS = 4_000;
/** Short-lived test certificates: a day is plenty, and EC keys are made in milliseconds. */
const CERTIFICATE_DAYS = '1';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Paths of PEM files. */
export interface TestCertificates {
  directory: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed neither certificate: Redis's certificate does not verify against it. */
  otherCaCert: string;
  /** The key of otherCaCert: a key that does not go with clientCert. */
  otherKey: string;
}

/** Why a test cannot use `tool` here (not on PATH), or undefined. */
export function toolMissing(tool: 'openssl' | 'redis-server'): string | undefined {
  try {
    execFileSync(tool, [tool === 'openssl' ? 'version' : '--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${tool} is not on PATH`;
  }
}

/** Makes the certificates in a fresh temporary directory, removed on the test's teardown. */
export function makeTestCertificates(t: Test): TestCertificates {
  const directory = mkdtempSync(join(tmpdir(), 'chatring-tls-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const path = (name: string) => join(directory, name);
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
  const selfSignedCa = (name: string, subject: string) => {
    key(`${name}.key`);
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      subject,
      '-days',
      CERTIFICATE_DAYS,
      '-out',
      `${name}.crt`,
    );
  };
  const signed = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    writeFileSync(path(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      CERTIFICATE_DAYS,
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  selfSignedCa('ca', '/CN=chatring test CA');
  selfSignedCa('other-ca', '/CN=chatring unrelated CA');
  signed(
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  signed('client', '/CN=chatring client', 'extendedKeyUsage=clientAuth\n');
  return {
    directory,
    caCert: path('ca.crt'),
    serverCert: path('server.crt'),
    serverKey: path('server.key'),
    clientCert: path('client.crt'),
    clientKey: path('client.key'),
    otherCaCert: path('other-ca.crt'),
    otherKey: path('other-ca.key'),
  };
}

export interface TlsRedisServerOptions {
  certificates: TestCertificates;
  /** requirepass: the default user's password. */
  password: string;
  /** An ACL user with every right, besides the default user. */
  user?: { name: string; password: string };
}

export interface TestTlsRedisServer {
  port: number;
  /** rediss://127.0.0.1:port, no credentials. */
  url: string;
}

/**
 * Starts `redis-server` with TLS only (`--port 0`), client certificates required and a password.
 * Throws RedisTlsUnsupportedError when this redis-server was built without TLS.
 */
export async function startTlsRedisServer(
  t: Test,
  options: TlsRedisServerOptions,
): Promise<TestTlsRedisServer> {
  const { certificates, password, user } = options;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'chatring-redis-tls-'));
  const args = [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--tls-cert-file',
    certificates.serverCert,
    '--tls-key-file',
    certificates.serverKey,
    '--tls-ca-cert-file',
    certificates.caCert,
    '--tls-auth-clients',
    'yes',
    '--requirepass',
    password,
    ...(user === undefined
      ? []
      : ['--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all']),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dataDir,
  ];
  let output = '';
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('error', (error) => (output += `\ncannot start redis-server: ${error.message}`));
  running.add(child);
  child.once('exit', () => running.delete(child));
  const keep = (text: string) => (output = (output + text).slice(-OUTPUT_KEPT_CHARS));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  t.teardown(async () => {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  });
  await waitForTlsReply(port, certificates, child, () => output);
  return { port, url: `rediss://127.0.0.1:${port}` };
}

/** This redis-server cannot speak TLS (built without it): the caller skips, saying so. */
export class RedisTlsUnsupportedError extends Error {}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await Promise.race([exited, sleep(STOP_TIMEOUT_MS)]);
}

/** A port nobody listens on right now (the OS picks it; we release it for redis-server). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** Ready once a TLS client with the client certificate gets any reply to PING (NOAUTH counts). */
async function waitForTlsReply(
  port: number,
  certificates: TestCertificates,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/tls/i.test(output()) && /bad directive|not supported|unknown|built/i.test(output()))
        throw new RedisTlsUnsupportedError(`redis-server has no TLS support:\n${output()}`);
      throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    if (child.pid === undefined) throw new Error(`cannot start redis-server${output()}`);
    if (await tlsPing(port, certificates)) return;
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(
    `TLS redis-server on ${port} did not answer in ${START_TIMEOUT_MS} ms:\n${output()}`,
  );
}

function tlsPing(port: number, certificates: TestCertificates): Promise<boolean> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    ca: readFileSync(certificates.caCert),
    cert: readFileSync(certificates.clientCert),
    key: readFileSync(certificates.clientKey),
  });
  return answersPing(socket, 'secureConnect', true);
}
