// The self-test page (/selftest, webphone/src/selftest.js) in Chromium,
// served by sipedges of its own with digest on and TURN over UDP, TCP and
// TLS: everything right, a wrong password, and a server whose TURN URIs
// name a UDP port where nothing listens and a TLS port whose certificate
// Chromium does not trust. run.mjs runs these scenarios with its own;
// each saves a screenshot of the page as it ended in the artifacts
// folder ($E2E_ARTIFACTS, else e2e/artifacts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { env, say, startSipedge, freePort, makeCert, LogBuffer, T } from './run.mjs';
import { artifactsDir } from './webphone.mjs';

// The bound of one run of the page: its own checks are bounded (8 s for
// a TURN allocation, run side by side; 10 s for the REGISTER).
const pageRun = 25_000;

const password = `alice-${crypto.randomUUID()}`;

// servers are started once, by the first scenario that needs them.
const servers = {};

// goodServer: digest on, alice, TURN on UDP/TCP and TLS (the WSS
// certificate, which Chromium trusts by its SPKI hash).
function goodServer() {
  servers.good ??= (async () => {
    const turn = await freePort();
    const tls = await freePort();
    const se = await startSipedge('sipedge-selftest', [
      `TurnPort = ${turn}`,
      `TlsTurnPort = ${tls}`,
      'TurnAllowPeers = 127.0.0.0/8, 127.0.0.1/32',
    ], { alice: password });
    return { ...se, turn };
  })();
  return servers.good;
}

// foreignServer hands out credentials signed with its own REST key for
// goodServer's TURN, which has another: the TURN server answers 401.
function foreignServer() {
  servers.foreign ??= (async () => {
    const good = await goodServer();
    return startSipedge('sipedge-selftest-foreign', [
      `TurnPort = ${await freePort()}`,
      `TurnUris = turn:127.0.0.1:${good.turn}?transport=udp`,
    ], { alice: password });
  })();
  return servers.foreign;
}

// badServer: the same, but the TURN URIs it hands out name a UDP port
// where nothing listens, and its TURN over TLS has a certificate of its
// own that is not on Chromium's SPKI allow-list (so refused).
function badServer() {
  servers.bad ??= (async () => {
    const turn = await freePort();
    const tls = await freePort();
    const dead = await freePort();
    const dir = join(env.dir, 'selftest-untrusted');
    mkdirSync(dir, { recursive: true });
    const untrusted = makeCert(dir);
    const se = await startSipedge('sipedge-selftest-blocked', [
      `TurnPort = ${turn}`,
      `TlsTurnPort = ${tls}`,
      `TurnTlsCertificate = ${untrusted.cert}`,
      `TurnTlsPrivateKey = ${untrusted.key}`,
      'TurnAllowPeers = 127.0.0.0/8, 127.0.0.1/32',
      `TurnUris = turn:127.0.0.1:${dead}?transport=udp, turn:127.0.0.1:${turn}?transport=tcp, turns:127.0.0.1:${tls}?transport=tcp`,
    ], { alice: password });
    return { ...se, dead, tls };
  })();
  return servers.bad;
}

// SelfTestPage is one tab on a sipedge's /selftest; ph() (run.mjs) closes
// it and dumps its console and the sipedge's log when the scenario fails.
class SelfTestPage {
  constructor(name, server) {
    this.name = name;
    this.server = server;
    this.log = new LogBuffer(name);
    this.mark = server.proc.log.mark();
    // run.mjs dumps .log of what ph() was given; the sipedge's too.
    const own = this.log.dump.bind(this.log);
    this.log.dump = () => {
      own();
      server.proc.log.dump(this.mark);
    };
  }

  // run loads the page, runs the checks with user and password and
  // returns { checks: {id: {status, words}}, summary, status, report }.
  async run(user, pass) {
    this.page = await env.context.newPage();
    this.page.on('console', (m) => this.log.add(m.text()));
    this.page.on('pageerror', (e) => this.log.add(`PAGE ERROR: ${e.message}`));
    const url = `https://127.0.0.1:${this.server.ports.wss}/selftest`;
    await this.page.goto(url, { timeout: T.start });
    await this.page.fill('#user', user);
    await this.page.fill('#password', pass);
    await this.page.click('#run');
    await this.page.waitForFunction(() => document.documentElement.dataset.state === 'done', null, { timeout: pageRun, polling: 100 });
    const got = await this.page.evaluate(() => ({
      checks: Object.fromEntries([...document.querySelectorAll('[data-check]')].map((li) => [li.dataset.check, { status: li.dataset.status, words: li.querySelector('.words').textContent }])),
      summary: document.getElementById('summary').textContent,
      status: document.getElementById('summary').dataset.status,
      report: window.selftestReport(),
    }));
    this.log.add(got.report);
    const shot = join(artifactsDir(), `${this.name}.png`);
    await this.page.screenshot({ path: shot, fullPage: true });
    say(`  ${this.name}: ${got.status}: ${got.summary} (screenshot ${shot})`);
    return got;
  }

  async close() {
    await this.page?.close().catch(() => {});
    this.page = null;
  }
}

// expect throws unless check id (or 'summary') has status and its words
// match re.
function expect(got, id, status, re = /./) {
  const c = id === 'summary' ? { status: got.status, words: got.summary } : got.checks[id];
  if (!c || c.status !== status || !re.test(c.words)) {
    throw new Error(`check ${id}: ${c ? `${c.status}: ${c.words}` : 'missing'}; want ${status} matching ${re}\n${got.report}`);
  }
}

// pageScenario is a scenario that runs the page once, as user with pass,
// against the sipedge server() starts, and checks what it shows.
function pageScenario(name, title, server, user, pass, check) {
  return {
    name,
    title,
    expect: 'pass',
    async run(ph) {
      const se = await server();
      check(await ph(new SelfTestPage(name, se)).run(user, pass), se);
    },
  };
}

export const scenarios = [
  pageScenario('selftest',
    "the self-test page with alice's credentials against a sipedge with digest and TURN over UDP, TCP and TLS: every check ok, a relay address over each",
    goodServer, 'alice@example.com', password, (got) => {
      expect(got, 'page', 'ok', /HTTPS/);
      expect(got, 'wss', 'ok');
      expect(got, 'sip', 'ok', /answered SIP/);
      expect(got, 'register', 'ok', /signed in/);
      expect(got, 'turn-credentials', 'ok', /3 URIs/);
      expect(got, 'turn-udp', 'ok', /Relay address 127\.0\.0\.1:\d+/);
      expect(got, 'turn-tcp', 'ok', /Relay address 127\.0\.0\.1:\d+ .*over TCP/);
      expect(got, 'turn-tls', 'ok', /Relay address 127\.0\.0\.1:\d+ .*over TLS/);
      expect(got, 'summary', 'ok', /^Calls will work:/);
    }),
  pageScenario('selftest-wrong-password',
    'the self-test page with a wrong password: the REGISTER and the TURN credentials say "credentials wrong", the relays are skipped',
    goodServer, 'alice@example.com', `not-${password}`, (got) => {
      expect(got, 'wss', 'ok');
      expect(got, 'register', 'failed', /^Credentials wrong/);
      expect(got, 'turn-credentials', 'failed', /^Credentials wrong/);
      for (const k of ['udp', 'tcp', 'tls']) expect(got, `turn-${k}`, 'skipped', /no TURN credentials/);
      expect(got, 'summary', 'failed', /password is wrong/);
    }),
  pageScenario('selftest-anonymous',
    'the self-test page without a user name and password: the WebSocket and OPTIONS checked, the sign-in and TURN skipped and the summary says so',
    goodServer, '', '', (got) => {
      expect(got, 'sip', 'ok');
      for (const id of ['register', 'turn-credentials', 'turn-udp', 'turn-tcp', 'turn-tls']) expect(got, id, 'skipped', /needs a user name and a password/);
      expect(got, 'summary', 'warn', /were not checked/);
    }),
  pageScenario('selftest-blocked',
    'the self-test page against a sipedge whose TURN URIs name a UDP port where nothing listens and a TLS port with a certificate Chromium refuses: UDP explained as blocked, TLS as certificate or port, calls relayed over TCP',
    // No domain typed: the page takes the realm of the Basic challenge.
    badServer, 'alice', password, (got, se) => {
      expect(got, 'register', 'ok', /alice@example\.com/);
      expect(got, 'turn-udp', 'failed', new RegExp(`^UDP to port ${se.dead} is blocked on your network: calls will relay over TCP`));
      expect(got, 'turn-tcp', 'ok', /Relay address/);
      expect(got, 'turn-tls', 'failed', new RegExp(`certificate is not trusted by your browser for 127\\.0\\.0\\.1, or port ${se.tls} is blocked`));
      expect(got, 'summary', 'warn', /relayed over TCP/);
    }),
  pageScenario('selftest-turn-refused',
    "the self-test page against a sipedge whose TURN URI names another sipedge's TURN (another REST key): the allocation's 401 is explained as credentials refused by the TURN server",
    foreignServer, 'alice@example.com', password, (got) => {
      expect(got, 'turn-credentials', 'ok', /1 URI\b/);
      expect(got, 'turn-udp', 'failed', /^Credentials wrong: the TURN server refused/);
      for (const k of ['tcp', 'tls']) expect(got, `turn-${k}`, 'skipped', /no TURN URI over/);
      expect(got, 'summary', 'failed', /relay refused the credentials/);
    }),
];
