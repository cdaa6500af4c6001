import { X509Certificate, createPrivateKey } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { PASSWORD_BYTES_MAX, PEM_FILE_BYTES_MAX } from './limits.js';
import { invalidOption, requireOption } from './options.js';

/**
 * Files and secrets named by options (Redis and Cassandra passwords, CA bundles, client
 * certificates and keys): read once at start-up, bounded, checked, and every failure an
 * INVALID_OPTION naming the option and the path. Nothing here echoes a password, not even in part.
 */
/** A DNS name (labels of letters, digits and `-`), at most 253 characters. */
const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `subject`: what the message says before the bounds ("must be", "file … must hold"). */
export function checkedPassword(
  component: string,
  name: string,
  value: unknown,
  subject: string,
): string {
  if (typeof value !== 'string')
    throw invalidOption(
      component,
      name,
      `${subject} a string, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  const bytes = Buffer.byteLength(value);
  requireOption(
    bytes >= 1 && bytes <= PASSWORD_BYTES_MAX,
    component,
    name,
    `${subject} 1 to ${PASSWORD_BYTES_MAX} bytes, got ${bytes}`,
  );
  return value;
}

/** The password on the file's one line; one trailing line break is not part of it. */
export function readPasswordFile(component: string, name: string, path: string): string {
  const text = readOptionFile(component, name, path, PASSWORD_BYTES_MAX + 2)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  const where = `file ${JSON.stringify(path)}`;
  requireOption(!/[\r\n]/.test(text), component, name, `${where} must hold one line`);
  return checkedPassword(component, name, text, `${where} must hold`);
}

/** A DNS name to check a server's certificate against; an address is refused (not SNI). */
export function checkServerName(component: string, name: string, value: unknown): string {
  requireOption(
    typeof value === 'string' && DNS_NAME_PATTERN.test(value) && isIP(value) === 0,
    component,
    name,
    `must be a DNS name (an address is checked as it is), got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 260)) : typeof value}`,
  );
  return value as string;
}

/** A PEM file of one or more certificates, each of which must parse. */
export function readCertificates(component: string, name: string, path: string): Buffer {
  const pem = readPemFile(component, name, path);
  const blocks = pem.toString('latin1').match(CERTIFICATE_BLOCK) ?? [];
  const where = `file ${JSON.stringify(path)}`;
  requireOption(blocks.length > 0, component, name, `${where} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw invalidOption(
        component,
        name,
        `${where} holds a certificate that does not parse: ${(error as Error).message}`,
      );
    }
  }
  return pem;
}

/** A PEM private key that needs no passphrase, and that goes with `cert`. */
export function readPrivateKey(
  component: string,
  name: string,
  path: string,
  cert: { name: string; pem: Buffer },
): Buffer {
  const pem = readPemFile(component, name, path);
  const where = `file ${JSON.stringify(path)}`;
  try {
    createPrivateKey(pem);
  } catch (error) {
    throw invalidOption(
      component,
      name,
      `${where} holds no unencrypted PEM private key: ${(error as Error).message}`,
    );
  }
  try {
    createSecureContext({ cert: cert.pem, key: pem });
  } catch (error) {
    throw invalidOption(
      component,
      name,
      `${where} is not the key of ${cert.name}: ${(error as Error).message}`,
    );
  }
  return pem;
}

export function readPemFile(component: string, name: string, path: string): Buffer {
  const pem = readOptionFile(component, name, path, PEM_FILE_BYTES_MAX);
  requireOption(
    pem.length <= PEM_FILE_BYTES_MAX,
    component,
    name,
    `file ${JSON.stringify(path)} is larger than ${PEM_FILE_BYTES_MAX} bytes`,
  );
  return pem;
}

/**
 * At most `bytesMax + 1` bytes of the file (so the caller can tell it is too long without reading a
 * device or a pipe to its end). A file that cannot be read is INVALID_OPTION naming the option and
 * the path.
 */
function readOptionFile(component: string, name: string, path: string, bytesMax: number): Buffer {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(path, 'r');
    const buffer = Buffer.alloc(bytesMax + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(descriptor, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return Buffer.from(buffer.subarray(0, length));
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (error as Error).message;
    throw invalidOption(component, name, `cannot read ${JSON.stringify(path)}: ${reason}`);
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}
