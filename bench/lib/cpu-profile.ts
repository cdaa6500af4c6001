/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes; `chatring start --cpu-prof-dir` writes
 * one per member) into self time per function and per origin: the question a profile answers for
 * the bench is "where does the CPU of one request go", so time is attributed to the function that
 * was running (self time), not to its callers.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** `name (origin:line)`, or V8's own labels: (idle), (garbage collector), (program). */
  label: string;
  /** Where the code lives: ours (chatring), a package (node_modules/<name>), node: internals, v8. */
  origin: string;
  micros: number;
}

export interface ProfileSummary {
  /** Wall time the profile covers. */
  totalMicros: number;
  /** Time the process was not idle. */
  busyMicros: number;
  functions: SelfTime[];
  origins: SelfTime[];
}

export function summariseCpuProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, SelfTime>();
  const origins = new Map<string, SelfTime>();
  let idle = 0;
  // The i-th sample ran for the i+1-th delta (the time until the next sample was taken).
  for (let index = 0; index < profile.samples.length; index += 1) {
    const node = byId.get(profile.samples[index] as number);
    const micros = profile.timeDeltas[index + 1] ?? 0;
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(functionName, url);
    if (functionName === '(idle)') idle += micros;
    const label =
      url === ''
        ? functionName || '(anonymous)'
        : `${functionName || '(anonymous)'} (${shortUrl(url)}:${lineNumber + 1})`;
    add(functions, label, origin, micros);
    add(origins, origin, origin, micros);
  }
  const totalMicros = profile.endTime - profile.startTime;
  const sorted = (map: Map<string, SelfTime>) =>
    [...map.values()].sort((a, b) => b.micros - a.micros);
  return {
    totalMicros,
    busyMicros: totalMicros - idle,
    functions: sorted(functions),
    origins: sorted(origins),
  };
}

function add(map: Map<string, SelfTime>, label: string, origin: string, micros: number): void {
  const entry = map.get(label);
  if (entry === undefined) map.set(label, { label, origin, micros });
  else entry.micros += micros;
}

function originOf(functionName: string, url: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'v8/native';
  if (url.startsWith('node:')) return 'node:internals';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch !== null) return `node_modules/${packageMatch[1]}`;
  // Ours: named by the layer folder the compiled file sits in (router, cache-node, transport...).
  const layer = /\/([^/]+)\/[^/]+\.js$/.exec(url);
  return layer === null ? 'other' : `chatring/${layer[1]}`;
}

function shortUrl(url: string): string {
  const packageAt = url.indexOf('node_modules/');
  if (packageAt >= 0) return url.slice(packageAt + 'node_modules/'.length);
  // Ours: the layer folder and file (dist/router/router-server.js -> router/router-server.js).
  return url.split('/').slice(-2).join('/');
}
