/**
 * The live ring page in a real browser: Debian's headless Chromium driven by puppeteer-core
 * (nothing downloads a browser) against a real local cluster. It proves that the page shows every
 * slot with its owner and every node with its state; that after a kill -9 of a slot's owner it
 * shows the failover coming (a change in progress), then the standby owning that slot and the
 * node dead, without a reload; and that with an operator token configured `/ui` stays open while
 * `/ui/state` answers 401, the page asks for the token once, then shows the ring, and an
 * operator's `ringctl add` once it is done. Screenshots are saved under test-artifacts/ (the paths
 * are printed); CHATRING_UPDATE_DOCS_SCREENSHOT=1 also writes the README's docs/ring-page.png (the
 * failover in progress). Skipped, saying so, only where no chromium binary exists (.ci/run
 * installs it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import t, { type Test } from 'tap';
import { request } from 'undici';
import type { ClusterStatus } from '../../protocol/index.js';
import { ApiClient, eventually, repositoryRoot, type LocalCluster } from '../../harness/index.js';
import { hashToken } from '../../transport/index.js';
import { bootCluster } from '../helpers/local-cluster.js';
import { ringctl } from '../helpers/ringctl.js';

/** The page's DOM as far as these checks reach into it (the project's lib has no DOM types). */
interface PageElement {
  getAttribute(name: string): string | null;
  textContent: string | null;
  hidden: boolean;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  documentElement: PageElement;
  getElementById(id: string): PageElement | null;
};
declare const window: Record<string, unknown>;
declare const sessionStorage: { getItem(key: string): string | null };
declare const MutationObserver: new (callback: () => void) => {
  observe(target: unknown, options: { childList: boolean; subtree: boolean }): void;
};

const CHROMIUM = chromiumPath();
const SKIP =
  CHROMIUM === undefined
    ? 'no chromium binary (apt-get install chromium; .ci/run installs it): the browser test cannot run'
    : false;
const ARTIFACTS = join(repositoryRoot(), 'test-artifacts');
const DOCS_SCREENSHOT = join(repositoryRoot(), 'docs', 'ring-page.png');
const APP_TOKEN = 'app-token-for-the-ui-test-01';
const OPERATOR_TOKEN = 'operator-token-for-the-ui-01';
/** How long the page may take to show the standby in the dead node's slot after the kill. */
const FAILOVER_SHOWN_MS = 30_000;

/** Debian's chromium, found on the PATH (or CHATRING_CHROMIUM); never a downloaded one. */
function chromiumPath(): string | undefined {
  const given = process.env.CHATRING_CHROMIUM;
  if (given !== undefined && given !== '') return existsSync(given) ? given : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (found !== '') return found;
    } catch {
      // not on the PATH under this name
    }
  }
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM ?? '',
    headless: true,
    // Root in a container: no sandbox; a small /dev/shm: use /tmp.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A page that fails the test on any script error of the ring page. */
async function openPage(t: Test, browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 640 });
  page.on('pageerror', (error) => t.fail(`the page threw: ${String(error)}`));
  return page;
}

/** Waits until the page shows exactly the status's slots (with their owners) and nodes. */
async function waitForCluster(page: Page, status: ClusterStatus): Promise<void> {
  await page.waitForFunction(
    (slots: [string, string][], nodeIds: string[]) =>
      document.querySelectorAll('[data-slot]').length === slots.length &&
      slots.every(
        ([slot, owner]) =>
          document.querySelector(`[data-slot="${slot}"]`)?.getAttribute('data-owner') === owner,
      ) &&
      document.querySelectorAll('[data-node-id]').length === nodeIds.length &&
      nodeIds.every((nodeId) => document.querySelector(`[data-node-id="${nodeId}"]`) !== null),
    { timeout: 20_000, polling: 100 },
    status.slots.map((s): [string, string] => [s.slot, s.nodeId]),
    status.nodes.map((n) => n.nodeId),
  );
}

interface Shown {
  epoch: number;
  updates: number;
  slots: [string, string][];
  nodes: [string, string][];
}

async function shownOn(page: Page): Promise<Shown> {
  return page.evaluate(() => ({
    epoch: Number(document.getElementById('epoch')?.getAttribute('data-epoch')),
    updates: Number(document.documentElement.getAttribute('data-updates')),
    slots: Array.from(document.querySelectorAll('[data-slot]')).map((e): [string, string] => [
      e.getAttribute('data-slot') ?? '',
      e.getAttribute('data-owner') ?? '',
    ]),
    nodes: Array.from(document.querySelectorAll('[data-node-id]')).map((e): [string, string] => [
      e.getAttribute('data-node-id') ?? '',
      e.getAttribute('data-state') ?? '',
    ]),
  }));
}

async function screenshot(t: Test, page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  t.comment(`screenshot: ${path}`);
}

/** Light steady traffic (sends and reads among a few users) so the page's figures move. */
function startTraffic(api: ApiClient): { stop(): Promise<number> } {
  const users = Array.from({ length: 24 }, (_, i) => `ui-user-${i}`);
  let running = true;
  let done = 0;
  const worker = async (seed: number) => {
    for (let i = seed; running; i += 1) {
      const from = users[i % users.length] ?? '';
      const to = users[(i * 7 + 3) % users.length] ?? '';
      if (from === to) continue;
      await (i % 3 === 0 ? api.send(from, to, `hello ${i}`) : api.conversations(from)).catch(
        () => undefined,
      );
      done += 1;
      await sleep(40);
    }
  };
  const workers = [worker(0), worker(1_000)];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return done;
    },
  };
}

async function statusCodeOf(url: string, authorization?: string): Promise<number> {
  const response = await request(url, {
    headers: authorization === undefined ? {} : { authorization },
  });
  await response.body.dump();
  return response.statusCode;
}

t.test(
  'the page shows every slot and node, then the standby taking a killed node’s slot, without a reload',
  { skip: SKIP },
  async (t) => {
    const cluster = await bootCluster(t, {
      nodes: 3,
      standbys: 1,
      restartMembers: false, // the killed node stays dead: its slot must go to the standby
      leaseMs: 3_000,
      heartbeatIntervalMs: 250,
    });
    const api = new ApiClient(cluster.url);
    t.teardown(() => api.close());
    const traffic = startTraffic(api);
    t.teardown(() => traffic.stop());

    const browser = await launchBrowser(t);
    const page = await openPage(t, browser);
    // The standby must have registered (it is what takes the slot) before the page is compared.
    const before = await eventually('every member to have joined', async () => {
      const status = await cluster.status();
      return status.nodes.every((node) => node.state !== 'joining') && status.standbys.length > 0
        ? status
        : undefined;
    });
    await page.goto(`${cluster.url}/ui`, { waitUntil: 'domcontentloaded' });
    await waitForCluster(page, before);
    const first = await shownOn(page);
    t.equal(first.epoch, before.epoch, 'the epoch');
    t.same(
      first.nodes.sort(),
      before.nodes.map((n): [string, string] => [n.nodeId, n.state]).sort(),
      'every node with its state',
    );
    await page.waitForFunction(
      () => document.querySelector('[data-node-id] [data-field="hit"]')?.textContent !== '–',
      { timeout: 10_000 },
    );

    const [victimSlot] = before.slots;
    const [standby] = before.standbys;
    if (victimSlot === undefined || standby === undefined) throw new Error('no slot or standby');
    // Marks this document: a reload would make a new one without the mark. The observer records
    // every change line the page shows meanwhile.
    await page.evaluate(() => {
      window.__loadedOnce = true;
      const seen: string[] = [];
      window.__changeLines = seen;
      new MutationObserver(() => {
        for (const line of Array.from(document.querySelectorAll('[data-change-kind]')))
          if (!seen.includes(line.textContent ?? '')) seen.push(line.textContent ?? '');
      }).observe(document.getElementById('changes'), { childList: true, subtree: true });
    });
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);

    process.kill(await cluster.pidOf(victimSlot.nodeId), 'SIGKILL');
    const killedAt = Date.now();
    // The failover in the making, before the control plane makes it.
    await page.waitForFunction(
      (victim: string) =>
        Array.from(document.querySelectorAll('[data-change-kind="failover"]')).some(
          (line) =>
            (line.textContent ?? '').startsWith(`${victim} silent for`) ||
            (line.textContent ?? '').startsWith(`${victim}'s lease ran out`),
        ),
      { timeout: FAILOVER_SHOWN_MS, polling: 100 },
      victimSlot.nodeId,
    );
    await screenshot(t, page, 'ring-page-failover.png');
    if (process.env.CHATRING_UPDATE_DOCS_SCREENSHOT === '1') {
      await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
      t.comment(`README screenshot: ${DOCS_SCREENSHOT}`);
    }
    await page.waitForFunction(
      (slot: string, standbyId: string, victim: string) =>
        document.querySelector(`[data-slot="${slot}"]`)?.getAttribute('data-owner') === standbyId &&
        document.querySelector(`[data-node-id="${victim}"]`)?.getAttribute('data-state') ===
          'dead' &&
        document.querySelector(`[data-node-id="${standbyId}"]`)?.getAttribute('data-state') ===
          'serving',
      { timeout: FAILOVER_SHOWN_MS, polling: 100 },
      victimSlot.slot,
      standby,
      victimSlot.nodeId,
    );
    t.comment(
      `the page showed ${standby} on ${victimSlot.slot} ${Date.now() - killedAt} ms after the kill`,
    );

    const after = await shownOn(page);
    const afterStatus = await cluster.status();
    t.ok(after.epoch > before.epoch, 'the page shows the new epoch');
    t.same(
      after.slots,
      afterStatus.slots.map((s): [string, string] => [s.slot, s.nodeId]),
      'every slot with its owner, as the control plane has it',
    );
    t.ok(after.updates > first.updates, 'the page updated itself');
    t.equal(await page.evaluate(() => window.__loadedOnce), true, 'the same document: no reload');
    t.equal(await page.evaluate(() => performance.timeOrigin), timeOrigin, 'no navigation');
    const lines = await page.evaluate(() => window.__changeLines as string[]);
    t.ok(
      lines.some(
        (line) =>
          line.startsWith(victimSlot.nodeId) &&
          line.includes(`${standby} takes ${victimSlot.slot}`),
      ),
      `the failover was shown in progress before it happened (${JSON.stringify(lines)})`,
    );

    // Two more updates with traffic running, so the figures in the screenshot are current.
    await page.waitForFunction(
      (updates: number) => Number(document.documentElement.getAttribute('data-updates')) >= updates,
      { timeout: 10_000 },
      after.updates + 2,
    );
    await screenshot(t, page, 'ring-page.png');
    t.comment(`${await traffic.stop()} requests of background traffic`);
  },
);

t.test(
  'with an operator token: /ui open, /ui/state 401 without it; the page asks once, then shows the ring and a ringctl change',
  { skip: SKIP },
  async (t) => {
    const cluster: LocalCluster = await bootCluster(t, {
      nodes: 2,
      standbys: 1,
      env: {
        CHATRING_APP_TOKENS: APP_TOKEN,
        CHATRING_OPERATOR_TOKEN: hashToken(OPERATOR_TOKEN),
      },
    });
    t.equal(await statusCodeOf(`${cluster.url}/ui`), 200, 'the page itself is open');
    t.equal(await statusCodeOf(`${cluster.url}/ui/state`), 401, 'its state needs a token');
    t.equal(
      await statusCodeOf(`${cluster.url}/ui/state`, `Bearer ${APP_TOKEN}`),
      403,
      'an app token is not enough',
    );
    interface StateBody {
      controlPlaneProblem: string;
      nodes: {
        nodeId: string;
        state: string;
        reachable: boolean | null;
        cachedUsers: number | null;
      }[];
    }
    const readState = async (): Promise<[number, StateBody]> => {
      const answer = await request(`${cluster.url}/ui/state`, {
        headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      return [answer.statusCode, (await answer.body.json()) as StateBody];
    };
    t.equal((await readState())[0], 200, 'the operator token');
    // The standby may still be joining (no heartbeat, no URL yet) right after the start.
    const everyNodeRead = await eventually(
      'every node read by the router',
      async () => {
        const [, body] = await readState();
        return body.nodes.every((node) => node.reachable === true && node.cachedUsers !== null)
          ? body
          : undefined;
      },
      15_000,
    ).catch((error: unknown) => {
      t.fail(`${(error as Error).message}: ${cluster.outputTail().slice(-2_000)}`);
      return undefined;
    });
    t.equal(everyNodeRead?.controlPlaneProblem, '', 'the status route answered under the token');
    t.ok(everyNodeRead, 'every node answered the router, asked with the operator token');

    const browser = await launchBrowser(t);
    const page = await openPage(t, browser);
    await page.goto(`${cluster.url}/ui`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#token:not([hidden])', { timeout: 10_000 });
    await page.type('#token-input', 'not-the-operator-token-01');
    await page.click('#token-form button');
    await page.waitForFunction(
      () =>
        document.getElementById('token')?.hidden === false &&
        (document.getElementById('token-reason')?.textContent ?? '').includes('refused'),
      { timeout: 10_000 },
    );
    t.pass('a wrong token is refused and asked for again');
    await page.type('#token-input', OPERATOR_TOKEN);
    await page.click('#token-form button');
    const status = await cluster.status();
    await waitForCluster(page, status);
    t.equal(
      await page.evaluate(() => sessionStorage.getItem('chatring.operatorToken')),
      OPERATOR_TOKEN,
      'kept in the tab’s sessionStorage',
    );
    await screenshot(t, page, 'ring-page-with-token.png');

    await page.reload({ waitUntil: 'domcontentloaded' });
    await waitForCluster(page, status);
    t.equal(
      await page.evaluate(() => document.getElementById('token')?.hidden),
      true,
      'asked once: a reload in the same tab does not ask again',
    );

    // An operator's change through this router: the page shows it done, with its epoch, and the
    // new slot on the standby it was given.
    const added = await ringctl(['--router', cluster.url, 'add', 'standby-1'], {
      CHATRING_OPERATOR_TOKEN: OPERATOR_TOKEN,
    });
    t.equal(added.code, 0, `ringctl add standby-1: ${added.stderr}`);
    const grown = await cluster.status();
    await waitForCluster(page, grown);
    await page.waitForFunction(
      (epoch: number) =>
        Array.from(document.querySelectorAll('[data-change-kind="finished"]')).some((line) =>
          (line.textContent ?? '').startsWith(`add standby-1: done at epoch ${epoch} in `),
        ),
      { timeout: 10_000, polling: 100 },
      grown.epoch,
    );
    t.pass(`the page shows the change done at epoch ${grown.epoch}`);
  },
);
