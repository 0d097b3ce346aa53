// The self-test page (/selftest): from the visitor's own browser and
// network, it checks what a call through sipedge needs, in order: the
// page's connection, the SIP WebSocket (handshake, then an OPTIONS), a
// REGISTER with the visitor's credentials, the TURN credentials, and one
// relay allocation per TURN URI. Each check says what it found in plain
// words, with the technical detail folded below, because the people who
// open this page are often not the ones who run the server.
//
// The DOM is the interface the e2e test reads: every check is an <li>
// with data-check and data-status (pending, running, ok, warn, failed,
// skipped); <html data-state="done"> when a run is over.
import JsSIP from 'jssip';

// Bounds of the checks: the browser gives up on some of them much later
// (a TURN allocation over UDP to a silent port retries for ~40 s), and a
// self-test that hangs explains nothing.
const WAIT = {
  ws: 5000, // WebSocket handshake
  sip: 5000, // answer to OPTIONS
  register: 10000, // REGISTER, challenge and answer, then un-REGISTER
  fetch: 5000, // /turn-credentials
  relay: 8000, // one TURN allocation
};

const secure = location.protocol === 'https:';
const pagePort = location.port || (secure ? '443' : '80');
const wsURL = `${secure ? 'wss' : 'ws'}://${location.host}/`;

// The checks, in the order they run; TURN rows for URIs beyond the first
// of a kind are added when the credentials name them.
const CHECKS = [
  ['page', 'This page’s connection'],
  ['wss', 'SIP WebSocket handshake'],
  ['sip', 'SIP over the WebSocket (OPTIONS)'],
  ['register', 'Sign-in (REGISTER)'],
  ['turn-credentials', 'TURN credentials'],
  ['turn-udp', 'TURN relay over UDP'],
  ['turn-tcp', 'TURN relay over TCP'],
  ['turn-tls', 'TURN relay over TLS'],
];

const STATUS_WORDS = { pending: 'waiting', running: 'checking…', ok: 'ok', warn: 'warning', failed: 'failed', skipped: 'skipped' };

const $ = (id) => document.getElementById(id);
const rows = new Map(); // id -> { li, title, status, words, detail }

// addRow appends a check to the list (after `after`, if given).
function addRow(id, title, after) {
  const li = document.createElement('li');
  li.dataset.check = id;
  const h = document.createElement('h3');
  const status = document.createElement('span');
  status.className = 'status';
  h.append(status, ' ', title);
  const words = document.createElement('p');
  words.className = 'words';
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'Technical detail';
  const pre = document.createElement('pre');
  details.append(summary, pre);
  details.hidden = true;
  li.append(h, words, details);
  if (after) rows.get(after).li.after(li);
  else $('checks').append(li);
  const r = { li, title, statusEl: status, wordsEl: words, details, pre, status: 'pending', words: '', detail: '' };
  rows.set(id, r);
  set(id, 'pending', '');
  return r;
}

// set shows a check's status, its plain-words explanation and the
// technical detail (folded).
function set(id, status, words, detail = '') {
  const r = rows.get(id);
  Object.assign(r, { status, words, detail });
  r.li.dataset.status = status;
  r.statusEl.textContent = STATUS_WORDS[status];
  r.wordsEl.textContent = words;
  r.pre.textContent = detail;
  r.details.hidden = detail === '';
}

function resetRows() {
  rows.clear();
  $('checks').replaceChildren();
  for (const [id, title] of CHECKS) addRow(id, title);
}

// timeout resolves to `value` after ms: the losing side of a race.
const timeout = (ms, value) => new Promise((r) => setTimeout(() => r(value), ms));

const rand = () => Math.random().toString(36).slice(2, 12);

// ---------------------------------------------------------------- a. the page

function checkPage() {
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(location.hostname);
  const detail = `origin ${location.origin}\nsecure context: ${window.isSecureContext}\nuser agent: ${navigator.userAgent}`;
  if (secure) {
    set('page', 'ok', `The page came over HTTPS from ${location.origin}: the browser may use the microphone and camera here.`, detail);
  } else if (window.isSecureContext) {
    set('page', 'warn', `The page came over plain HTTP from ${location.origin}. That is allowed on this machine (${location.hostname}), but a phone used from another computer needs HTTPS: browsers give the microphone only to secure pages.`, detail);
  } else {
    set('page', 'warn', `The page came over plain HTTP from ${location.origin}: browsers give the microphone and camera only to HTTPS pages, so a phone on this address cannot call. Open it as https:// on the WSS port.`, detail);
  }
}

// ---------------------------------------------------------------- b. WebSocket and OPTIONS

// openSocket opens the SIP WebSocket; it resolves to { ws } or { error }.
function openSocket() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ws;
    try {
      ws = new WebSocket(wsURL, 'sip');
    } catch (e) {
      resolve({ error: `new WebSocket: ${e.message}` });
      return;
    }
    const timer = setTimeout(() => {
      ws.close();
      resolve({ error: `no handshake after ${WAIT.ws / 1000} s` });
    }, WAIT.ws);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve({ ws, ms: Math.round(performance.now() - t0) });
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      resolve({ error: `closed before it opened: code ${e.code}${e.reason ? ` (${e.reason})` : ''}` });
    };
  });
}

async function checkWebSocket(domain) {
  set('wss', 'running', `Opening ${wsURL} …`);
  const got = await openSocket();
  if (got.error) {
    const why = secure
      ? `Browsers say nothing more about a failed WebSocket. The usual causes: the server’s certificate is not trusted for ${location.hostname} (the page itself loaded, so look for a certificate warning you clicked through); a firewall or proxy on your network blocks port ${pagePort} to this server; or a reverse proxy in front of the server that does not pass WebSocket upgrades.`
      : `Browsers say nothing more about a failed WebSocket. The usual causes: a firewall or proxy on your network blocks port ${pagePort}, or a reverse proxy in front of the server that does not pass WebSocket upgrades.`;
    set('wss', 'failed', `The browser could not open the SIP WebSocket to ${location.host}. ${why}`, `${wsURL} (subprotocol sip): ${got.error}`);
    return null;
  }
  const ws = got.ws;
  if (ws.protocol !== 'sip') {
    ws.close();
    set('wss', 'failed', 'A WebSocket opened, but whatever answered did not agree to speak SIP over it: probably not sipedge, or a reverse proxy that drops the Sec-WebSocket-Protocol header.', `${wsURL}: subprotocol "${ws.protocol}", want "sip"`);
    return null;
  }
  set('wss', 'ok', `The SIP WebSocket to ${location.host} opened in ${got.ms} ms.`, `${wsURL}, subprotocol sip, ${got.ms} ms`);
  await checkOptions(ws, domain);
  return ws;
}

// checkOptions sends a hand-written OPTIONS over ws and waits for its
// response: any SIP answer, a challenge included, proves the path.
async function checkOptions(ws, domain) {
  set('sip', 'running', 'Sending a SIP OPTIONS request …');
  const callID = `${rand()}${rand()}`;
  const transport = secure ? 'WSS' : 'WS';
  const req = [
    `OPTIONS sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${rand()}.invalid;branch=z9hG4bK${rand()}`,
    'Max-Forwards: 70',
    `To: <sip:${domain}>`,
    `From: <sip:selftest@${domain}>;tag=${rand()}`,
    `Call-ID: ${callID}`,
    'CSeq: 1 OPTIONS',
    'Accept: application/sdp',
    'User-Agent: sipedge self-test',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const t0 = performance.now();
  const answer = new Promise((resolve) => {
    ws.onmessage = (e) => {
      const text = typeof e.data === 'string' ? e.data : '';
      if (text.startsWith('SIP/2.0 ') && new RegExp(`^(Call-ID|i)\\s*:\\s*${callID}\\s*$`, 'mi').test(text)) resolve(text);
    };
    ws.onclose = (e) => resolve({ closed: e.code });
  });
  ws.send(req);
  const got = await Promise.race([answer, timeout(WAIT.sip, null)]);
  ws.onmessage = null;
  ws.onclose = null;
  const ms = Math.round(performance.now() - t0);
  if (typeof got === 'string') {
    const status = got.split('\r\n', 1)[0].slice('SIP/2.0 '.length);
    const code = Number(status.slice(0, 3));
    const note = code === 401 || code === 407 ? ' (it asks for a password, as it should)' : '';
    set('sip', 'ok', `The server answered SIP over the WebSocket in ${ms} ms: ${status}${note}.`, `sent:\n${req.trim()}\n\nreceived:\n${got.trim()}`);
  } else if (got && got.closed !== undefined) {
    set('sip', 'failed', 'The server closed the WebSocket instead of answering a SIP request: something between you and the server may not pass WebSocket messages.', `sent:\n${req.trim()}\n\nclosed with code ${got.closed}`);
  } else {
    set('sip', 'failed', `The WebSocket opened, but no SIP answer came within ${WAIT.sip / 1000} s.`, `sent:\n${req.trim()}\n\nno response`);
  }
}

// ---------------------------------------------------------------- c. REGISTER

// sipAddress splits what the visitor typed into user and domain. Without
// a domain it takes the realm that /turn-credentials names in its Basic
// challenge (the users' realm, as the phone does), else the page's host.
async function sipAddress(input) {
  const at = input.lastIndexOf('@');
  if (at > 0) return { user: input.slice(0, at), domain: input.slice(at + 1) };
  let domain = '';
  try {
    const r = await Promise.race([fetch('/turn-credentials', { credentials: 'omit', cache: 'no-store' }), timeout(WAIT.fetch, null)]);
    const m = r && r.status === 401 && /realm="((?:[^"\\]|\\.)*)"/.exec(r.headers.get('WWW-Authenticate') || '');
    if (m) domain = m[1].replace(/\\(.)/g, '$1');
  } catch {
    // no realm to learn: the page's host will do
  }
  return { user: input, domain: domain || location.hostname };
}

async function checkRegister(addr, password) {
  const uri = `sip:${addr.user}@${addr.domain}`;
  set('register', 'running', `Registering ${uri} …`);
  let ua;
  const trace = [];
  const result = await Promise.race([
    new Promise((resolve) => {
      try {
        ua = new JsSIP.UA({
          sockets: [new JsSIP.WebSocketInterface(wsURL)],
          uri,
          password,
          register: false,
          register_expires: 60,
          session_timers: false,
          connection_recovery_min_interval: 30,
          user_agent: `sipedge self-test (JsSIP ${JsSIP.version})`,
        });
      } catch (e) {
        resolve({ error: `${e.message || e}`, config: true });
        return;
      }
      ua.on('connected', () => {
        trace.push('WebSocket connected');
        ua.register();
      });
      ua.on('disconnected', (e) => trace.push(`WebSocket disconnected${e && e.code ? ` (${e.code})` : ''}`));
      ua.on('registered', (e) => resolve({ ok: true, status: e.response && `${e.response.status_code} ${e.response.reason_phrase}` }));
      ua.on('registrationFailed', (e) => resolve({ cause: e.cause, code: e.response ? e.response.status_code : 0, reason: e.response ? e.response.reason_phrase : '' }));
      ua.start();
    }),
    timeout(WAIT.register, { timedOut: true }),
  ]);
  const detail = () => `${uri} over ${wsURL}\n${trace.join('\n')}`;
  if (result.ok) {
    trace.push(`registered: ${result.status}`);
    // Leave no binding behind: calls to this user must not ring a test page.
    const un = new Promise((resolve) => ua.on('unregistered', resolve));
    ua.unregister();
    const gone = await Promise.race([un.then(() => true), timeout(3000, false)]);
    trace.push(gone ? 'unregistered' : 'no answer to the un-REGISTER within 3 s');
    set('register', 'ok', `${uri} signed in (and signed out again): the user name and password are right.`, detail());
  } else if (result.config) {
    set('register', 'failed', `“${addr.user}@${addr.domain}” is not a SIP address the phone can use.`, `${uri}: ${result.error}`);
  } else if (result.timedOut) {
    set('register', 'failed', `No answer to the registration within ${WAIT.register / 1000} s.`, detail());
  } else if (result.code === 401 || result.code === 403 || result.code === 407 || result.cause === JsSIP.C.causes.AUTHENTICATION_ERROR) {
    trace.push(`refused: ${result.code} ${result.reason} (${result.cause})`);
    set('register', 'failed', `Credentials wrong: the server refused the user name or password for ${addr.user}@${addr.domain} (after asking for it). Check both, and the domain after the @.`, detail());
  } else if (result.code) {
    trace.push(`refused: ${result.code} ${result.reason} (${result.cause})`);
    set('register', 'failed', `The server refused the registration: ${result.code} ${result.reason}.${result.code === 404 ? ` The domain ${addr.domain} may not be one of the server’s: try user@domain.` : ''}`, detail());
  } else {
    trace.push(`failed: ${result.cause}`);
    set('register', 'failed', `The registration failed without an answer from the server (${result.cause}).`, detail());
  }
  if (ua) ua.stop();
}

// ---------------------------------------------------------------- d. TURN credentials

// basic is the Basic Authorization value; user names and passwords may be
// any UTF-8, which btoa alone refuses.
function basic(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

async function checkCredentials(addr, password) {
  set('turn-credentials', 'running', 'Asking the server for TURN credentials …');
  const url = '/turn-credentials';
  let r;
  try {
    // credentials 'omit': the Authorization header is sent all the same,
    // and a 401 cannot make the browser pop up its own password dialog.
    r = await Promise.race([
      fetch(url, { headers: { Authorization: basic(`${addr.user}@${addr.domain}`, password) }, cache: 'no-store', credentials: 'omit' }),
      timeout(WAIT.fetch, null),
    ]);
  } catch (e) {
    set('turn-credentials', 'failed', 'The request for TURN credentials did not get through.', `GET ${url}: ${e.message}`);
    return null;
  }
  if (!r) {
    set('turn-credentials', 'failed', `No answer to the request for TURN credentials within ${WAIT.fetch / 1000} s.`, `GET ${url}`);
    return null;
  }
  const body = (await r.text().catch(() => '')).trim();
  const detail = `GET ${url}: ${r.status} ${r.statusText}\n${body.slice(0, 2000)}`;
  switch (r.status) {
    case 200:
      break;
    case 401:
      set('turn-credentials', 'failed', 'Credentials wrong: the server refused the user name or password, so it gave no TURN credentials.', detail);
      return null;
    case 404:
      set('turn-credentials', 'warn', 'TURN is off on this server: there is no relay, so calls work only between sides that can reach each other directly.', detail);
      return { off: true };
    case 403:
      set('turn-credentials', 'failed', 'The server gives TURN credentials only over HTTPS: open this page as https:// (the WSS port).', detail);
      return null;
    case 429:
      set('turn-credentials', 'failed', 'Too many wrong passwords: the server locked sign-ins from here for a while. Wait, then try again.', detail);
      return null;
    default:
      set('turn-credentials', 'failed', `The server could not give TURN credentials: ${r.status} ${r.statusText}.`, detail);
      return null;
  }
  let creds;
  try {
    creds = JSON.parse(body);
  } catch (e) {
    set('turn-credentials', 'failed', 'The server’s answer with the TURN credentials is not JSON.', `${detail}\n${e.message}`);
    return null;
  }
  const ice = (creds.iceServers || [])[0];
  const uris = ice ? ice.urls : creds.uris || [];
  const username = ice ? ice.username : creds.username;
  const credential = ice ? ice.credential : creds.password;
  set('turn-credentials', 'ok', `Got TURN credentials for ${uris.length} URI${uris.length === 1 ? '' : 's'}, good for ${Math.round(creds.ttl / 3600)} h.`, `GET ${url}: 200\nusername ${username}\nttl ${creds.ttl} s\n${uris.join('\n')}`);
  return { uris, username, credential };
}

// ---------------------------------------------------------------- e. TURN allocations

// turnKind is udp, tcp or tls for a TURN URI (RFC 7065), with its host and
// port (3478, or 5349 for turns:).
function turnKind(uri) {
  const m = /^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(uri);
  if (!m) return null;
  const tls = m[1].toLowerCase() === 'turns';
  const transport = (m[4] || 'udp').toLowerCase();
  return { kind: tls ? 'tls' : transport, host: m[2], port: m[3] || (tls ? '5349' : '3478') };
}

// allocate has an RTCPeerConnection gather relay candidates from uri
// alone and resolves with the first one, or without one when gathering
// ends or the bound passes; the icecandidateerror events say why.
function allocate(uri, username, credential) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const errors = [];
    let pc;
    let timer;
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pc.close();
      resolve({ ...r, errors, ms: Math.round(performance.now() - t0) });
    };
    try {
      pc = new RTCPeerConnection({ iceServers: [{ urls: [uri], username, credential }], iceTransportPolicy: 'relay' });
    } catch (e) {
      resolve({ exception: `${e.name}: ${e.message}`, errors, ms: 0 });
      return;
    }
    timer = setTimeout(() => finish({ timedOut: true }), WAIT.relay);
    pc.onicecandidateerror = (e) => errors.push({ code: e.errorCode, text: e.errorText, url: e.url });
    pc.onicecandidate = (e) => {
      if (!e.candidate) {
        // The errors of the last attempts come with the end: let them in.
        setTimeout(() => finish({ ended: true }), 50);
        return;
      }
      const c = e.candidate;
      if (c.type !== 'relay') return;
      const parts = c.candidate.split(' '); // foundation component protocol priority address port ...
      finish({ relay: `${c.address || parts[4]}:${c.port || parts[5]}`, relayProtocol: c.relayProtocol || '', candidate: c.candidate });
    };
    pc.createDataChannel('selftest');
    pc.createOffer()
      .then((o) => pc.setLocalDescription(o))
      .catch((e) => finish({ exception: `${e.name}: ${e.message}` }));
  });
}

// why puts an allocation's failure in words, from its own evidence only.
function why(res, t) {
  const codes = res.errors.map((e) => e.code);
  if (res.exception) return { cause: 'browser', words: `The browser refused to try: ${res.exception}.` };
  if (codes.includes(401)) return { cause: 'credentials', words: 'Credentials wrong: the TURN server refused the credentials this server just handed out (its TurnSecret differs from the credentials endpoint’s, or the clocks disagree).' };
  if (codes.includes(701)) return { cause: 'unreachable', words: `The browser cannot reach the TURN server at ${t.host} port ${t.port}.` };
  const other = res.errors.find((e) => e.code);
  if (other) return { cause: 'refused', words: `The TURN server refused the allocation: ${other.code} ${other.text}.` };
  return { cause: 'unreachable', words: `No answer from the TURN server at ${t.host} port ${t.port}${res.timedOut ? ` within ${WAIT.relay / 1000} s` : ''}.` };
}

// explain reads a failed allocation together with the others: a transport
// that cannot reach the server while another relays is blocked on the
// visitor's network (or, for TLS, its certificate refused: browsers do
// not tell the two apart).
function explain(t, cause, okKinds) {
  if (cause.cause !== 'unreachable') return cause.words;
  const others = [...okKinds].map((k) => k.toUpperCase()).join('/');
  const relay = okKinds.size > 0 ? `: calls will relay over ${others}` : '';
  if (t.kind === 'udp') return relay ? `UDP to port ${t.port} is blocked on your network${relay}. (${cause.words})` : cause.words;
  if (t.kind === 'tcp') return relay ? `TCP to port ${t.port} is blocked on your network, or nothing answers there${relay}. (${cause.words})` : cause.words;
  if (t.host === location.hostname && t.port === pagePort) {
    // TurnOnSamePort: the page came through this very port and certificate.
    return `TURN over TLS on this page’s own port ${t.port} failed, although the page came through it with a certificate your browser trusts: a proxy or load balancer between you and the server passes only web traffic there${relay}. (${cause.words})`;
  }
  const https = relay ? ', but networks that let only HTTPS out will get no relay' : '';
  return `The TURN server’s certificate is not trusted by your browser for ${t.host}, or port ${t.port} is blocked on your network${relay}${https}. (${cause.words})`;
}

async function checkRelays(creds) {
  // One row per URI: the first of each kind takes the fixed row, others
  // get rows of their own after it.
  const jobs = [];
  const used = {};
  for (const uri of creds.uris) {
    const t = turnKind(uri);
    if (!t) continue;
    const n = (used[t.kind] = (used[t.kind] || 0) + 1);
    const base = `turn-${t.kind}`;
    const id = n === 1 ? base : `${base}-${n}`;
    if (n > 1) addRow(id, `TURN relay over ${t.kind.toUpperCase()} (${uri})`, n === 2 ? base : `${base}-${n - 1}`);
    jobs.push({ id, uri, t });
  }
  for (const kind of ['udp', 'tcp', 'tls']) {
    if (!used[kind]) set(`turn-${kind}`, 'skipped', `The server hands out no TURN URI over ${kind.toUpperCase()}.`);
  }
  for (const j of jobs) set(j.id, 'running', `Asking ${j.uri} for a relay address …`);
  // In parallel: each is bounded, and together they take the longest one.
  await Promise.all(jobs.map(async (j) => {
    j.res = await allocate(j.uri, creds.username, creds.credential);
  }));
  const okKinds = new Set(jobs.filter((j) => j.res.relay).map((j) => j.t.kind));
  for (const j of jobs) {
    const { res, t } = j;
    const errs = res.errors.map((e) => `icecandidateerror ${e.code} ${e.text} (${e.url})`);
    const detail = [`${j.uri}`, `${res.ms} ms`, ...(res.candidate ? [res.candidate] : []), ...errs, ...(res.timedOut ? [`no relay candidate within ${WAIT.relay / 1000} s`] : []), ...(res.ended ? ['gathering ended without a relay candidate'] : [])].join('\n');
    if (res.relay) {
      set(j.id, 'ok', `Relay address ${res.relay} allocated in ${res.ms} ms${res.relayProtocol ? ` (browser to TURN over ${res.relayProtocol.toUpperCase()})` : ''}.`, detail);
      continue;
    }
    j.cause = why(res, t);
    const words = explain(t, j.cause, okKinds);
    set(j.id, 'failed', words, detail);
  }
  return { jobs, okKinds };
}

// ---------------------------------------------------------------- f. summary

function summarize(ran) {
  const s = (id) => rows.get(id).status;
  const notes = [];
  if (!secure && !window.isSecureContext) notes.push('This page is not on HTTPS, so a phone here cannot use the microphone.');
  let status;
  let words;
  if (s('wss') === 'failed' || s('sip') === 'failed') {
    status = 'failed';
    words = 'Calls will not work from here: the browser cannot talk SIP to the server over its WebSocket (see above).';
  } else if (s('register') === 'failed') {
    status = 'failed';
    words = /Credentials wrong/.test(rows.get('register').words)
      ? 'Sign-in failed: the user name or password is wrong. Calls will work once they are right.'
      : 'Sign-in failed (see above): a phone cannot receive calls until it registers.';
  } else if (!ran.credentials) {
    status = 'warn';
    words = 'The connection to the server works. Sign-in and the TURN relay were not checked: enter a user name and password to check them.';
  } else if (s('turn-credentials') === 'warn') {
    status = 'warn';
    words = 'Calls will work between sides that can reach each other directly; this server runs no TURN relay for the others.';
  } else if (s('turn-credentials') === 'failed') {
    status = 'failed';
    words = 'Sign-in and SIP work, but no TURN credentials came: calls across NATs and firewalls may have no audio.';
  } else {
    const ok = ran.relays.okKinds;
    if (ok.has('udp') && ok.size === ran.relays.jobs.reduce((n, j) => n.add(j.t.kind), new Set()).size) {
      status = 'ok';
      words = 'Calls will work: the server and its TURN relay are reachable from here over every transport.';
    } else if (ok.has('udp')) {
      status = 'ok';
      words = 'Calls will work: the TURN relay is reachable over UDP (some other transports failed, see above).';
    } else if (ok.has('tcp')) {
      status = 'warn';
      words = `Calls will work, relayed over TCP${ok.has('tls') ? ' or TLS' : ''}: UDP to the relay is blocked from here, which can make audio a little less smooth.`;
    } else if (ok.has('tls')) {
      status = 'warn';
      words = 'Calls will work only through the relay over TLS: UDP and plain TCP to it are blocked from here.';
    } else if (ran.relays.jobs.some((j) => j.cause && j.cause.cause === 'credentials')) {
      status = 'failed';
      words = 'The TURN relay refused the credentials the server handed out, a fault of the server’s setup (see above): until it is fixed, calls across NATs and firewalls will have no audio.';
    } else {
      status = 'failed';
      words = 'The TURN relay is not reachable from here: calls will work only with sides that can reach you directly; behind most NATs and firewalls they will have no audio.';
    }
  }
  const el = $('summary');
  el.dataset.status = status;
  el.textContent = [words, ...notes].join(' ');
}

// report is the plain-text report the copy button puts on the clipboard.
function report() {
  const lines = [`sipedge self-test of ${location.origin}, ${new Date().toISOString()}`, `${navigator.userAgent}`, ''];
  let n = 0;
  for (const r of rows.values()) {
    lines.push(`${++n}. ${r.title}: ${STATUS_WORDS[r.status]}`);
    if (r.words) lines.push(`   ${r.words}`);
    for (const d of r.detail.split('\n').filter(Boolean)) lines.push(`     ${d}`);
  }
  lines.push('', `Summary: ${$('summary').textContent}`);
  return `${lines.join('\n')}\n`;
}

async function copyReport() {
  const text = report();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (plain HTTP): the old way, through a selection.
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
  $('copied').textContent = 'Copied.';
}

// ---------------------------------------------------------------- run

async function run() {
  const input = $('user').value.trim();
  const password = $('password').value;
  const haveCreds = input !== '' && password !== '';
  document.documentElement.dataset.state = 'running';
  $('run').disabled = true;
  $('copy').disabled = true;
  $('copied').textContent = '';
  $('summary').dataset.status = 'pending';
  $('summary').textContent = 'Running …';
  resetRows();
  const addr = await sipAddress(input);
  const ran = { credentials: haveCreds };
  try {
    checkPage();
    const ws = await checkWebSocket(addr.domain || location.hostname);
    if (ws) ws.close();
    const skip = haveCreds ? '' : 'Skipped: it needs a user name and a password.';
    if (!ws) {
      set('sip', 'skipped', 'Skipped: the WebSocket did not open.');
      set('register', 'skipped', 'Skipped: the WebSocket did not open.');
    } else if (!haveCreds) {
      set('register', 'skipped', skip);
    } else {
      await checkRegister(addr, password);
    }
    const creds = haveCreds ? await checkCredentials(addr, password) : null;
    if (!haveCreds) set('turn-credentials', 'skipped', skip);
    if (creds && creds.uris) {
      ran.relays = await checkRelays(creds);
    } else {
      const why = !haveCreds ? skip : creds && creds.off ? 'Skipped: TURN is off on this server.' : 'Skipped: no TURN credentials.';
      for (const kind of ['udp', 'tcp', 'tls']) set(`turn-${kind}`, 'skipped', why);
    }
    summarize(ran);
  } catch (e) {
    $('summary').dataset.status = 'failed';
    $('summary').textContent = `The self-test itself failed: ${e.message}`;
  }
  $('run').disabled = false;
  $('copy').disabled = false;
  document.documentElement.dataset.state = 'done';
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  run();
});
$('copy').addEventListener('click', copyReport);
resetRows();
// The e2e test (and a curious visitor's console) can read the report.
window.selftestReport = report;
