// sipedge's web phone: sign in with the SIP user name and password,
// register over this page's own WebSocket (wss:// on https pages), place
// and answer audio and video calls, send and receive SIP MESSAGEs. TURN
// credentials come from sipedge's /turn-credentials (HTTP Basic, same
// origin); when TURN is off (404) calls go without a relay.
//
// URL parameters: relay=1 ticks "Relay only" (iceTransportPolicy
// 'relay'); debug=1 logs JsSIP's SIP trace to the console.
import JsSIP from 'jssip';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const rememberKey = 'sipedge-phone'; // sessionStorage: this tab only

if (params.get('debug') === '1') JsSIP.debug.enable('JsSIP:*');
else JsSIP.debug.disable();
if (params.get('relay') === '1') $('relay').checked = true;

// The state of the signed-in phone; null fields when signed out.
const st = {
  ua: null,
  user: '', // the user part
  domain: '',
  iceServers: [], // from /turn-credentials
  turnTimer: 0,
  session: null, // the current call
  video: false, // whether it has video
  signingIn: false,
};

function status(text) {
  $('status').textContent = text;
}

// plain turns JsSIP's causes into words for people.
function plain(cause, who) {
  const C = JsSIP.C.causes;
  switch (cause) {
    case C.AUTHENTICATION_ERROR:
      return 'wrong user name or password';
    case C.CONNECTION_ERROR:
      return 'cannot reach the server';
    case C.REQUEST_TIMEOUT:
      return 'the server did not answer';
    case C.BUSY:
      return `${who || 'the other side'} is busy`;
    case C.REJECTED:
      return `${who || 'the other side'} declined`;
    case C.NOT_FOUND:
    case C.UNAVAILABLE:
    case C.ADDRESS_INCOMPLETE:
      return `${who || 'the other side'} cannot be reached`;
    case C.NO_ANSWER:
      return `${who || 'the other side'} did not answer`;
    case C.CANCELED:
      return 'the call was canceled';
    case C.BYE:
      return 'hung up';
    case C.USER_DENIED_MEDIA_ACCESS:
      return 'the browser may not use the microphone or camera';
    case C.RTP_TIMEOUT:
      return 'the media stopped';
    case C.INCOMPATIBLE_SDP:
    case C.MISSING_SDP:
    case C.BAD_MEDIA_DESCRIPTION:
      return 'the two phones could not agree on media';
    default:
      return String(cause || 'unknown error').toLowerCase();
  }
}

// uriOf makes a SIP URI of what was typed: "bob", "bob@example.com" or a
// full sip: URI.
function uriOf(target) {
  const t = target.trim();
  if (/^sips?:/i.test(t)) return t;
  return t.includes('@') ? `sip:${t}` : `sip:${t}@${st.domain}`;
}

// who is the user part (and the domain when not ours) of a URI, for
// people.
function who(uri) {
  const u = uri.user || '';
  return uri.host && uri.host !== st.domain ? `${u}@${uri.host}` : u;
}

// ---------------------------------------------------------------- TURN

const turnPath = 'turn-credentials?service=turn';

// basic is the Authorization header for name and password (UTF-8).
function basic(name, password) {
  const bytes = new TextEncoder().encode(`${name}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

// realm asks the endpoint which realm it signs users in to (its 401
// challenge); '' when there is no endpoint (TURN off).
async function realm() {
  const r = await fetch(turnPath, { credentials: 'omit', cache: 'no-store' });
  const m = /realm="((?:[^"\\]|\\.)*)"/.exec(r.headers.get('WWW-Authenticate') || '');
  return r.status === 401 && m ? m[1].replace(/\\(.)/g, '$1') : '';
}

// fetchTURN gets TURN credentials: { iceServers, ttl }, or null when
// the server has no TURN (404) or gives none to this page (403: a plain
// http page not on loopback). A wrong password throws 'wrong user name or
// password'. credentials 'omit': the browser neither adds nor asks for
// credentials of its own (no sign-in dialog on a 401).
async function fetchTURN(name, password) {
  let r;
  try {
    r = await fetch(turnPath, { headers: { Authorization: basic(name, password) }, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new Error(`cannot reach the server (${e.message})`);
  }
  if (r.status === 404 || r.status === 403) return null;
  if (r.status === 401) throw new Error('wrong user name or password');
  if (!r.ok) throw new Error(`TURN credentials: ${r.status} ${(await r.text()).trim()}`);
  const got = await r.json();
  return { iceServers: got.iceServers || [], ttl: got.ttl || 0 };
}

// refreshTURN fetches new credentials before the ones in use expire (at
// four fifths of their lifetime), so that calls started later still get a
// relay.
function scheduleTURN(name, password, ttl) {
  clearTimeout(st.turnTimer);
  if (!ttl) return;
  const ms = Math.min(Math.max(ttl * 800, 30_000), 2 ** 31 - 1);
  st.turnTimer = setTimeout(async () => {
    try {
      const t = await fetchTURN(name, password);
      st.iceServers = t ? t.iceServers : [];
      scheduleTURN(name, password, t ? t.ttl : 0);
    } catch (e) {
      status(`Could not renew the TURN credentials: ${e.message}. Retrying in a minute.`);
      scheduleTURN(name, password, 75);
    }
  }, ms);
}

function pcConfig() {
  return {
    iceServers: st.iceServers,
    iceTransportPolicy: $('relay').checked ? 'relay' : 'all',
  };
}

// ---------------------------------------------------------------- sign-in

async function signIn(name, password, remember) {
  if (st.signingIn || st.ua) return;
  st.signingIn = true;
  $('signin-button').disabled = true;
  $('signin-error').textContent = '';
  status('Signing in…');
  try {
    let [user, domain] = name.trim().split('@', 2);
    if (!user) throw new Error('type a user name');
    if (!domain) domain = (await realm()) || location.hostname;
    const turn = await fetchTURN(`${user}@${domain}`, password);
    st.iceServers = turn ? turn.iceServers : [];
    if (turn) scheduleTURN(`${user}@${domain}`, password, turn.ttl);
    st.user = user;
    st.domain = domain;
    await register(user, domain, password);
    if (remember) sessionStorage.setItem(rememberKey, JSON.stringify({ name, password }));
    $('password').value = '';
    $('me').textContent = `${user}@${domain}`;
    $('signin').hidden = true;
    $('phone').hidden = false;
    status(`Registered as ${user}@${domain}${turn ? '' : ' (no TURN server: calls go without a relay)'}.`);
    $('target').focus();
  } catch (e) {
    stopUA();
    sessionStorage.removeItem(rememberKey);
    $('signin-error').textContent = `Sign-in failed: ${e.message}.`;
    status('Not signed in.');
  } finally {
    st.signingIn = false;
    $('signin-button').disabled = false;
  }
}

// How long a sign-in may wait for the WebSocket and the REGISTER.
const registerTimeout = 20_000;

// register starts the user agent over this page's WebSocket and resolves
// once it is registered; it rejects with the reason in words when the
// registration fails, the WebSocket cannot connect or nothing happens
// within registerTimeout.
function register(user, domain, password) {
  const ws = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(ws)],
    uri: `sip:${user}@${domain}`,
    authorization_user: user,
    password,
    register: true,
    session_timers: false,
    user_agent: `sipedge web phone (JsSIP ${JsSIP.version})`,
  });
  st.ua = ua;
  return new Promise((resolve, reject) => {
    let done = false;
    // settle ends the sign-in once: err null is success.
    const settle = (err) => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
      return true;
    };
    const timer = setTimeout(() => settle(new Error('the server did not answer the registration')), registerTimeout);
    ua.on('registered', () => settle(null));
    ua.on('registrationFailed', (e) => {
      const why = `${plain(e.cause)}${e.response ? ` (${e.response.status_code} ${e.response.reason_phrase})` : ''}`;
      if (!settle(new Error(why))) status(`Registration lost: ${why}.`);
    });
    ua.on('disconnected', () => {
      // JsSIP keeps trying to reconnect; at sign-in, say so at once.
      if (settle(new Error('cannot reach the server over the WebSocket'))) return;
      if (st.ua === ua) status('Connection to the server lost: reconnecting…');
    });
    ua.on('connected', () => {
      if (done && st.ua === ua) status(`Connected again as ${user}@${domain}.`);
    });
    ua.on('newRTCSession', (e) => {
      if (e.originator === 'remote') incoming(e.session, e.request);
    });
    ua.on('newMessage', (e) => {
      if (e.originator !== 'remote') return;
      const peer = who(e.request.from.uri);
      addMessage('in', peer, e.request.body);
      replyTo(peer);
    });
    ua.start();
  });
}

function stopUA() {
  clearTimeout(st.turnTimer);
  if (st.session && !st.session.isEnded()) st.session.terminate();
  if (st.ua) st.ua.stop(); // unregisters first
  st.ua = null;
  st.session = null;
  st.iceServers = [];
}

function signOut() {
  stopUA();
  sessionStorage.removeItem(rememberKey);
  $('phone').hidden = true;
  $('signin').hidden = false;
  $('conversation').replaceChildren();
  callUI('idle');
  status('Signed out.');
  $('user').focus();
}

// ---------------------------------------------------------------- calls

// callUI shows what fits the call's state: idle, ringing (incoming),
// calling (outgoing), incall.
function callUI(state, text = '') {
  $('incoming').hidden = state !== 'ringing';
  $('incall').hidden = state !== 'calling' && state !== 'incall';
  $('audio-call').disabled = state !== 'idle';
  $('video-call').disabled = state !== 'idle';
  $('call-with').textContent = text;
  // The videos only while a video call is on (a hidden video element
  // still plays the sound of an audio call).
  $('videos').hidden = !st.video || (state !== 'calling' && state !== 'incall');
  if (state === 'idle') {
    $('remote-video').srcObject = null;
    $('local-video').srcObject = null;
    $('mute').setAttribute('aria-pressed', 'false');
    $('mute').textContent = 'Mute';
  }
}

// follow wires a call's events to the page.
function follow(session, peer) {
  st.session = session;
  const media = (pc) => {
    pc.addEventListener('track', (e) => {
      $('remote-video').srcObject = e.streams[0] || new MediaStream([e.track]);
    });
  };
  if (session.connection) media(session.connection);
  session.on('peerconnection', (e) => media(e.peerconnection));
  session.on('progress', () => {
    if (session.direction === 'outgoing') callUI('calling', `Ringing ${peer}…`);
  });
  session.on('accepted', () => {
    const tracks = session.connection.getSenders().map((s) => s.track).filter((t) => t && t.kind === 'video');
    $('local-video').srcObject = tracks.length ? new MediaStream(tracks) : null;
    callUI('incall', `In a call with ${peer}.`);
    status(`In a call with ${peer}.`);
  });
  const end = (text) => {
    if (st.session === session) st.session = null;
    callUI('idle');
    status(text);
  };
  session.on('ended', (e) => end(`Call with ${peer} ended: ${e.originator === 'local' ? 'you hung up' : plain(e.cause, peer)}.`));
  session.on('failed', (e) => {
    const code = e.message && e.message.status_code ? ` (${e.message.status_code} ${e.message.reason_phrase})` : '';
    end(`Call with ${peer} failed: ${e.originator === 'local' && e.cause === JsSIP.C.causes.CANCELED ? 'you hung up' : plain(e.cause, peer)}${code}.`);
  });
}

function call(video) {
  const target = $('target').value.trim();
  if (!st.ua || !target || st.session) return;
  const uri = uriOf(target);
  const peer = target;
  try {
    const session = st.ua.call(uri, {
      mediaConstraints: { audio: true, video },
      pcConfig: pcConfig(),
    });
    follow(session, peer);
    st.video = video;
    callUI('calling', `Calling ${peer}…`);
    status(`Calling ${peer}${video ? ' (video)' : ''}…`);
  } catch (e) {
    status(`Cannot call ${peer}: ${e.message}.`);
  }
}

function incoming(session, request) {
  const peer = who(request.from.uri);
  if (st.session) {
    session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
    addMessage('info', peer, 'called while you were in a call');
    return;
  }
  const video = /^m=video [1-9]/m.test(request.body || '');
  follow(session, peer);
  replyTo(peer);
  st.video = video;
  $('incoming-from').textContent = `${peer} is calling${video ? ' (video)' : ''}.`;
  callUI('ringing');
  status(`Incoming ${video ? 'video ' : ''}call from ${peer}.`);
  $('answer').focus();
}

function answer() {
  const s = st.session;
  if (!s || s.direction !== 'incoming' || s.isEstablished()) return;
  s.answer({ mediaConstraints: { audio: true, video: st.video }, pcConfig: pcConfig() });
  callUI('calling', 'Answering…');
}

function hangup(code) {
  const s = st.session;
  if (s && !s.isEnded()) s.terminate(code ? { status_code: code } : undefined);
}

function mute() {
  const s = st.session;
  if (!s || !s.isEstablished()) return;
  const muted = s.isMuted().audio;
  if (muted) s.unmute({ audio: true });
  else s.mute({ audio: true });
  $('mute').setAttribute('aria-pressed', String(!muted));
  $('mute').textContent = muted ? 'Mute' : 'Unmute';
}

// ---------------------------------------------------------------- messages

// replyTo puts peer in "Call or message" when it is empty, so that an
// answer to a caller or a message needs no typing.
function replyTo(peer) {
  if (!$('target').value.trim()) $('target').value = peer;
}

// addMessage appends a line to the conversation: kind 'in', 'out',
// 'failed' or 'info'.
function addMessage(kind, peer, text) {
  const li = document.createElement('li');
  li.className = kind;
  const t = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const arrow = { in: `${peer} → you`, out: `you → ${peer}`, failed: `not sent to ${peer}`, info: peer }[kind];
  li.textContent = `${t} ${arrow}: ${text}`;
  $('conversation').append(li);
  li.scrollIntoView({ block: 'nearest' });
  return li;
}

function sendMessage() {
  const target = $('target').value.trim();
  const text = $('message').value;
  if (!st.ua || !text) return;
  if (!target) {
    status('Type who the message is for in "Call or message".');
    $('target').focus();
    return;
  }
  const li = addMessage('out', target, text);
  $('message').value = '';
  const failed = (why) => {
    li.className = 'failed';
    li.textContent += ` (not delivered: ${why})`;
  };
  try {
    st.ua.sendMessage(uriOf(target), text, {
      eventHandlers: {
        succeeded: () => li.classList.add('delivered'),
        failed: (e) => failed(plain(e.cause, target)),
      },
    });
  } catch (e) {
    failed(e.message); // JsSIP refuses a target it cannot parse
  }
}

// ---------------------------------------------------------------- page

$('signin').addEventListener('submit', (e) => {
  e.preventDefault();
  signIn($('user').value, $('password').value, $('remember').checked);
});
$('signout').addEventListener('click', signOut);
$('dial').addEventListener('submit', (e) => {
  e.preventDefault();
  call(false);
});
$('video-call').addEventListener('click', () => call(true));
$('answer').addEventListener('click', answer);
$('decline').addEventListener('click', () => hangup(603));
$('hangup').addEventListener('click', () => hangup());
$('mute').addEventListener('click', mute);
$('message-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sendMessage();
});
window.addEventListener('pagehide', () => stopUA());

// The tab remembers the sign-in (sessionStorage: gone with the tab).
const remembered = JSON.parse(sessionStorage.getItem(rememberKey) || 'null');
if (remembered) {
  $('user').value = remembered.name;
  $('remember').checked = true;
  signIn(remembered.name, remembered.password, true);
}

// For tests and troubleshooting: the current call's media counters and
// selected ICE candidate pair, from getStats.
window.sipedgePhone = {
  async stats() {
    const pc = st.session && st.session.connection;
    if (!pc) return null;
    const out = { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0, local: null, remote: null };
    const report = await pc.getStats();
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'outbound-rtp') {
        out.bytesSent += s.bytesSent || 0;
        out.packetsSent += s.packetsSent || 0;
      } else if (s.type === 'inbound-rtp') {
        out.bytesReceived += s.bytesReceived || 0;
        out.packetsReceived += s.packetsReceived || 0;
      } else if (s.type === 'transport' && s.selectedCandidatePairId) {
        pair = report.get(s.selectedCandidatePairId);
      }
    });
    const cand = (id) => {
      const c = id && report.get(id);
      return c ? { candidateType: c.candidateType, address: c.address, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol } : null;
    };
    if (pair) {
      out.local = cand(pair.localCandidateId);
      out.remote = cand(pair.remoteCandidateId);
    }
    return out;
  },
};
