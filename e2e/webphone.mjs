// The web phone scenario: sipedge's own page (web/assets, built from
// webphone/src), served by sipedge on its WSS port, driven through its
// form and buttons in two Chromium pages. run.mjs runs it (its scenario
// list holds webphoneScenario); screenshots of each step go to
// $E2E_ARTIFACTS, else e2e/artifacts.
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { env, say, sleep, startSipedge, freePort, LogBuffer, T } from './run.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// artifactsDir is where the screenshots go (made when missing).
export function artifactsDir() {
  const dir = process.env.E2E_ARTIFACTS || join(here, 'artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// WebPhone is one page of sipedge's web phone.
class WebPhone {
  // viewport: { width, height } of the page (default: Playwright's
  // 1280x720).
  constructor(name, url, viewport = null) {
    this.name = name;
    this.url = url;
    this.viewport = viewport;
    this.log = new LogBuffer(`${name}/webphone`);
  }

  async open() {
    this.page = await env.context.newPage();
    if (this.viewport) await this.page.setViewportSize(this.viewport);
    this.page.on('console', (m) => this.log.add(m.text().replace(/(\s*color: (#[0-9A-Fa-f]{6}|inherit))+\s*$/, '').replace(/%c/g, '')));
    this.page.on('pageerror', (e) => this.log.add(`PAGE ERROR: ${e.message}`));
    const started = Date.now();
    await this.page.goto(this.url, { timeout: T.start, waitUntil: 'load' });
    return Date.now() - started;
  }

  label(text) {
    return this.page.getByLabel(text, { exact: true });
  }
  button(name) {
    return this.page.getByRole('button', { name, exact: true });
  }
  status() {
    return this.page.locator('#status').textContent();
  }

  // waitText waits until the element matching selector shows text (a
  // RegExp) and returns it; on a timeout the error says what it showed.
  async waitText(selector, re, ms, what) {
    try {
      await this.page.locator(selector).filter({ hasText: re }).first().waitFor({ timeout: ms });
    } catch {
      const shown = await this.page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => '?');
      throw new Error(`${this.name}: not ${what} after ${ms / 1000}s (${selector} shows "${shown}"; status "${await this.status().catch(() => '?')}")`);
    }
    return this.page.locator(selector).first().textContent();
  }

  async signIn(user, password, remember = false) {
    await this.label('User').fill(user);
    await this.label('Password').fill(password);
    if (remember) await this.label('Remember me for this tab').check();
    await this.button('Sign in').click();
  }

  async shot(step) {
    const file = join(artifactsDir(), `webphone-${step}-${this.name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }

  stats() {
    return this.page.evaluate(() => window.sipedgePhone.stats());
  }

  async close() {
    if (this.page) await this.page.close().catch(() => {});
    this.page = null;
  }
}

// mediaFlows waits until both pages' RTP byte counters grow, both ways,
// between two readings, and returns the last readings.
async function mediaFlows(...phones) {
  const deadline = Date.now() + T.rtp;
  const first = await Promise.all(phones.map((p) => p.stats()));
  for (;;) {
    await sleep(500);
    const last = await Promise.all(phones.map((p) => p.stats()));
    if (last.every((s, i) => s && first[i] && s.bytesSent > first[i].bytesSent && s.bytesReceived > first[i].bytesReceived)) return last;
    if (Date.now() > deadline) {
      throw new Error(`RTP not flowing both ways after ${T.rtp / 1000}s: ${phones.map((p, i) => `${p.name}: ${JSON.stringify(first[i])} -> ${JSON.stringify(last[i])}`).join('; ')}`);
    }
  }
}

export const webphoneScenario = {
  name: 'webphone',
  title: "sipedge's web phone (https://127.0.0.1:WSS/, TurnOnSamePort, digest on): a wrong password is refused, with TURN and without; alice and bob sign in through the form, alice video-calls bob relay-only, bob answers, media over TURN relay, a message, alice hangs up; screenshots of each step",
  expect: 'pass',
  async run(ph) {
    const users = { alice: `alice-${crypto.randomUUID()}`, bob: `bob-${crypto.randomUUID()}` };
    const se = await startSipedge('sipedge-webphone', [
      `TurnPort = ${await freePort()}`,
      'TurnOnSamePort = true',
      'TurnAllowPeers = 127.0.0.0/8, 127.0.0.1/32',
    ], users);
    ph({ log: se.proc.log, close: async () => se.proc.proc.kill('SIGTERM') });
    const base = `https://127.0.0.1:${se.ports.wss}/`;
    const shots = [];

    // A wrong password: /turn-credentials answers 401, the form says so.
    const w = ph(new WebPhone('wrong', base));
    const loadMs = await w.open();
    say(`  ${base} loaded in ${loadMs} ms`);
    await w.signIn('alice', 'not-the-password');
    const err = await w.waitText('#signin-error', /wrong user name or password/, T.start, 'told the password is wrong');
    say(`  wrong password: "${err}"`);
    shots.push(await w.shot('1-wrong-password'));
    await w.close();

    // Without TURN (/turn-credentials is 404) the phone signs in all the
    // same, and the REGISTER's 401 tells a wrong password.
    const carol = `carol-${crypto.randomUUID()}`;
    const plain = await startSipedge('sipedge-webphone-noturn', [], { carol });
    ph({ log: plain.proc.log, close: async () => plain.proc.proc.kill('SIGTERM') });
    const n = ph(new WebPhone('noturn', `https://127.0.0.1:${plain.ports.wss}/`));
    await n.open();
    await n.signIn('carol@example.com', 'not-the-password');
    const refused = await n.waitText('#signin-error', /wrong user name or password \(401/, T.start, 'told the password is wrong');
    await n.signIn('carol@example.com', carol);
    const noTurn = await n.waitText('#status', /^Registered as carol@example\.com \(no TURN server/, T.start, 'registered without TURN');
    say(`  without TURN: "${refused}", then "${noTurn}"`);
    shots.push(await n.shot('1-without-turn'));
    await n.close();

    // alice signs in with her user name alone (the domain is the realm
    // the server names), bob with his domain and ?relay=1; alice's page
    // logs JsSIP's SIP trace (?debug=1), which a failure report prints.
    // bob's page has a phone's screen (390x844 CSS pixels).
    const a = ph(new WebPhone('alice', `${base}?debug=1`));
    const b = ph(new WebPhone('bob', `${base}?relay=1`, { width: 390, height: 844 }));
    await Promise.all([a.open(), b.open()]);
    await Promise.all([a.signIn('alice', users.alice, true), b.signIn('bob@example.com', users.bob)]);
    await Promise.all([
      a.waitText('#status', /^Registered as alice@example\.com\.$/, T.start, 'registered'),
      b.waitText('#status', /^Registered as bob@example\.com\.$/, T.start, 'registered'),
    ]);
    say('  alice and bob signed in and registered (TURN credentials fetched)');
    shots.push(await a.shot('2-signed-in'), await b.shot('2-signed-in'));

    // alice: bob, relay only, Video call.
    await a.label('Call or message').fill('bob');
    await a.page.getByLabel('Relay only (media through TURN)').check();
    await a.button('Video call').click();
    const ringing = await b.waitText('#incoming-from', /alice is calling \(video\)/, T.ring, 'offered the call');
    say(`  bob's page: "${ringing}"`);
    shots.push(await b.shot('3-ringing'));
    await b.button('Answer').click();
    await Promise.all([
      a.waitText('#status', /In a call with bob/, T.confirm, 'in the call'),
      b.waitText('#status', /In a call with alice/, T.confirm, 'in the call'),
    ]);
    const stats = await mediaFlows(a, b);
    for (const [p, s] of [[a, stats[0]], [b, stats[1]]]) {
      if (!s.local || s.local.candidateType !== 'relay' || !s.remote || s.remote.candidateType !== 'relay') {
        throw new Error(`${p.name}: selected pair not relay to relay: ${JSON.stringify(s)}`);
      }
    }
    say(`  media flows over TURN: ${stats.map((s, i) => `${[a, b][i].name} sent ${s.bytesSent} B, received ${s.bytesReceived} B, relay via ${s.local.relayProtocol}`).join('; ')}`);
    // Video frames: the remote video element plays.
    await b.page.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0, null, { timeout: T.rtp });
    shots.push(await a.shot('4-in-call'), await b.shot('4-in-call'));

    // A message from alice to bob (the callee in "Call or message").
    const text = `hello bob ${Date.now()}`;
    await a.label('Message to the user above').fill(text);
    await a.button('Send').click();
    await b.waitText('#conversation li', new RegExp(`alice → you: ${text}`), T.message, 'given the message');
    await a.page.locator('#conversation li.delivered').first().waitFor({ timeout: T.message });
    say('  message alice -> bob shown on bob\'s page');
    shots.push(await b.shot('5-message'));

    // Mute and unmute: the button says which.
    await a.button('Mute').click();
    await a.page.locator('#mute[aria-pressed=true]').waitFor({ timeout: T.message });
    await a.button('Unmute').click();
    await a.page.locator('#mute[aria-pressed=false]').waitFor({ timeout: T.message });

    await a.button('Hang up').click();
    await Promise.all([
      a.waitText('#status', /Call with bob ended: you hung up/, T.hangup, 'done with the call'),
      b.waitText('#status', /Call with alice ended: hung up/, T.hangup, 'told the call ended'),
    ]);
    shots.push(await a.shot('6-ended'), await b.shot('6-ended'));
    await b.button('Sign out').click();
    await b.waitText('#status', /^Signed out\.$/, T.start, 'signed out');
    // alice ticked "Remember me for this tab": a reload signs her in
    // again (sessionStorage), and nothing is in localStorage.
    await a.page.reload({ timeout: T.start });
    await a.waitText('#status', /^Registered as alice@example\.com\.$/, T.start, 'signed in again after a reload');
    // (localStorage may hold the debug package's "debug": JsSIP:*.)
    const stored = await a.page.evaluate(() => ({ local: Object.entries(localStorage), session: sessionStorage.length }));
    if (stored.local.some(([, v]) => v.includes(users.alice)) || stored.session !== 1) {
      throw new Error(`alice's storage after sign-in: localStorage ${JSON.stringify(stored.local)}, ${stored.session} sessionStorage entries; want no password in localStorage, one sessionStorage entry`);
    }
    say('  alice muted and unmuted; a reload of her tab signed her in again (sessionStorage; no password in localStorage)');
    say(`  alice hung up; bob signed out; screenshots: ${shots.length} in ${artifactsDir()}`);
  },
};
