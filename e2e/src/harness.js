// The page side of the browser end-to-end tests: one "phone" per page,
// built on JsSIP or SIP.js, driven by run.mjs through window.e2e.
//
// Every action returns quickly (a promise that settles when the library
// accepted it); what happens next is recorded in window.e2e.state, which the
// runner polls with timeouts. Nothing here waits without a bound.
import { newJsSIP } from './jssip.js';
import { newSIPjs } from './sipjs.js';

const state = {
  lib: '',
  registered: false,
  registerError: '',
  transport: 'down', // 'up' or 'down': the WebSocket of the user agent
  transportUps: 0, // how many times the WebSocket came up
  call: 'idle', // idle | calling | incoming | confirmed | ended | failed
  callEnd: '', // cause / who ended it
  calls: 0, // calls that reached 'confirmed'
  incoming: 0, // calls offered to this phone
  messages: [], // bodies of MESSAGEs received
  messageSent: '', // '' | 'ok' | 'failed: cause'
  reinvites: 0, // re-INVITEs this phone sent (hold, unhold) that got a 2xx
  reinviteError: '', // why the last one failed
  holds: [], // 'local hold', 'remote unhold', ...: what the library told (JsSIP only for remote)
  infos: [], // bodies of in-dialog INFOs received
  infoSent: '', // '' | 'ok' | 'failed: cause'
  events: [], // a log of everything above, with times, for failure reports
};

function log(what) {
  state.events.push(`${(performance.now() / 1000).toFixed(3)} ${what}`);
  console.log(`[e2e] ${what}`);
}

// Callbacks the adapters call; they only update state.
const hooks = {
  transportUp() {
    state.transport = 'up';
    state.transportUps++;
    log('transport up');
  },
  transportDown(why) {
    state.transport = 'down';
    log(`transport down ${why || ''}`);
  },
  registered() {
    state.registered = true;
    state.registerError = '';
    log('registered');
  },
  unregistered(why) {
    state.registered = false;
    log(`unregistered ${why || ''}`);
  },
  registerFailed(why) {
    state.registered = false;
    state.registerError = String(why);
    log(`registration failed: ${why}`);
  },
  incoming(from) {
    state.incoming++;
    state.call = 'incoming';
    state.callEnd = '';
    log(`incoming call from ${from}`);
  },
  confirmed() {
    state.call = 'confirmed';
    state.calls++;
    log('call confirmed');
  },
  ended(cause) {
    state.call = 'ended';
    state.callEnd = String(cause);
    log(`call ended: ${cause}`);
  },
  failed(cause) {
    state.call = 'failed';
    state.callEnd = String(cause);
    log(`call failed: ${cause}`);
  },
  hold(what, originator) {
    state.holds.push(`${originator} ${what}`);
    log(`${originator} ${what}`);
  },
  info(body) {
    state.infos.push(body);
    log(`INFO received: ${body}`);
  },
  message(from, body) {
    state.messages.push(body);
    log(`MESSAGE from ${from}: ${body}`);
  },
};

let phone = null;

function reinviteDone(what, result) {
  if (result === 'ok') state.reinvites++;
  else state.reinviteError = `${what}: ${result}`;
  log(`${what} re-INVITE: ${result}`);
}

window.e2e = {
  state,

  // start creates the user agent and registers. opts: { lib: 'jssip' |
  // 'sipjs', ws: 'ws://127.0.0.1:port', uri: 'sip:alice@example.com',
  // debug: bool, instance: '+sip.instance UUID', password: 'digest
  // password', pcConfig: RTCConfiguration (JsSIP only) }.
  async start(opts) {
    if (phone) throw new Error('already started');
    state.lib = opts.lib;
    log(`start ${opts.lib} ${opts.uri} via ${opts.ws}`);
    const make = { jssip: newJsSIP, sipjs: newSIPjs }[opts.lib];
    if (!make) throw new Error(`unknown library ${opts.lib}`);
    phone = make(opts, hooks, log);
    await phone.start();
  },

  call(target) {
    state.call = 'calling';
    state.callEnd = '';
    log(`call ${target}`);
    return phone.call(target);
  },

  answer() {
    log('answer');
    return phone.answer();
  },

  hangup() {
    log('hangup');
    return phone.hangup();
  },

  sendMessage(target, body) {
    state.messageSent = '';
    log(`send MESSAGE to ${target}`);
    return phone.sendMessage(target, body, (result) => {
      state.messageSent = result;
      log(`MESSAGE result: ${result}`);
    });
  },

  // hold and unhold send a re-INVITE (a target refresh) with the media
  // direction changed; state.reinvites counts those that got a 2xx.
  hold() {
    log('hold');
    return phone.hold((r) => reinviteDone('hold', r));
  },

  unhold() {
    log('unhold');
    return phone.unhold((r) => reinviteDone('unhold', r));
  },

  // sendInfo sends an INFO inside the current call's dialog.
  sendInfo(body) {
    state.infoSent = '';
    log('send INFO');
    return phone.sendInfo(body, (result) => {
      state.infoSent = result;
      log(`INFO result: ${result}`);
    });
  },

  // dropTransport closes the user agent's WebSocket the way a network
  // change does (the library sees a close it did not ask for and
  // reconnects by itself).
  dropTransport() {
    log('drop transport');
    return phone.dropTransport();
  },

  // rtp returns the audio RTP counters of the current call's peer
  // connection: { packetsSent, bytesSent, packetsReceived, bytesReceived }.
  async rtp() {
    const pc = phone && phone.peerConnection();
    const out = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, ice: pc ? pc.iceConnectionState : 'none' };
    if (!pc) return out;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.kind !== 'audio' && s.mediaType !== 'audio') return;
      if (s.type === 'outbound-rtp') {
        out.packetsSent += s.packetsSent || 0;
        out.bytesSent += s.bytesSent || 0;
      } else if (s.type === 'inbound-rtp') {
        out.packetsReceived += s.packetsReceived || 0;
        out.bytesReceived += s.bytesReceived || 0;
      }
    });
    return out;
  },

  // ice returns the selected candidate pair of the current call's peer
  // connection: { state, local: { candidateType, protocol, relayProtocol,
  // address, port }, remote: {...} } (null fields when none is selected).
  async ice() {
    const pc = phone && phone.peerConnection();
    const out = { state: pc ? pc.iceConnectionState : 'none', pair: null, local: null, remote: null };
    if (!pc) return out;
    const stats = await pc.getStats();
    let pairId = '';
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    if (!pairId) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pairId = s.id;
      });
    }
    const pair = pairId ? stats.get(pairId) : null;
    if (!pair) return out;
    const cand = (id) => {
      const c = stats.get(id);
      return c ? { candidateType: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol || '', address: c.address || c.ip, port: c.port } : null;
    };
    out.pair = { state: pair.state, nominated: pair.nominated, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived };
    out.local = cand(pair.localCandidateId);
    out.remote = cand(pair.remoteCandidateId);
    return out;
  },

  async stop() {
    if (phone) await phone.stop();
    phone = null;
  },
};
