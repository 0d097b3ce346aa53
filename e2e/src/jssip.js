// The JsSIP phone of the harness (see harness.js for the hooks).
import JsSIP from 'jssip';

const media = { audio: true, video: false };

export function newJsSIP(opts, hooks, log) {
  // opts.pcConfig: the RTCPeerConnection configuration (iceServers,
  // iceTransportPolicy); default no ICE servers (host candidates only).
  const pcConfig = opts.pcConfig || { iceServers: [] };
  if (opts.debug) JsSIP.debug.enable('JsSIP:*');
  else JsSIP.debug.disable();

  const socket = new JsSIP.WebSocketInterface(opts.ws);
  const ua = new JsSIP.UA({
    sockets: [socket],
    uri: opts.uri,
    display_name: opts.name || '',
    register: true,
    register_expires: 600,
    session_timers: false,
    // Reconnect quickly after a dropped WebSocket (JsSIP's default is at
    // least 2 s, then exponential).
    connection_recovery_min_interval: 1,
    connection_recovery_max_interval: 2,
    user_agent: `e2e JsSIP ${JsSIP.version}`,
    // Digest: the user part of uri and this password (JsSIP answers MD5
    // challenges only, the first of a response).
    ...(opts.password ? { password: opts.password } : {}),
    ...(opts.instance ? { instance_id: opts.instance } : {}),
  });
  let session = null;
  let infoDone = null; // the callback of the INFO being sent

  function watch(s) {
    session = s;
    s.on('confirmed', () => hooks.confirmed());
    s.on('ended', (e) => hooks.ended(`${e.originator}: ${e.cause}`));
    s.on('failed', (e) => hooks.failed(`${e.originator}: ${e.cause}`));
    s.on('peerconnection', () => log('peer connection created'));
    s.on('hold', (e) => hooks.hold('hold', e.originator));
    s.on('unhold', (e) => hooks.hold('unhold', e.originator));
    s.on('newInfo', (e) => {
      if (e.originator === 'remote') {
        hooks.info(e.info.body);
        return;
      }
      // Ours: emitted before it is sent, so the result can be followed.
      const done = infoDone;
      infoDone = null;
      if (!done) return;
      e.info.on('succeeded', () => done('ok'));
      e.info.on('failed', (f) => done(`failed: ${f.response ? f.response.status_code : ''}`));
    });
    s.on('icecandidate', (e) => log(`ice candidate ${e.candidate.candidate}`));
  }

  ua.on('connected', () => hooks.transportUp());
  ua.on('disconnected', (e) => hooks.transportDown(e && e.code));
  ua.on('registered', () => hooks.registered());
  ua.on('unregistered', () => hooks.unregistered());
  ua.on('registrationFailed', (e) => hooks.registerFailed(`${e.cause} ${e.response ? e.response.status_code : ''}`));
  ua.on('newRTCSession', (e) => {
    if (e.originator !== 'remote') return;
    if (session && !session.isEnded()) {
      log('second incoming call while one is active: 486');
      e.session.terminate({ status_code: 486 });
      return;
    }
    watch(e.session);
    hooks.incoming(e.request.from.uri.toString());
  });
  ua.on('newMessage', (e) => {
    if (e.originator !== 'remote') return;
    hooks.message(e.request.from.uri.toString(), e.request.body);
  });

  return {
    start() {
      ua.start();
    },
    call(target) {
      watch(ua.call(target, { mediaConstraints: media, pcConfig, rtcOfferConstraints: { offerToReceiveAudio: true } }));
    },
    answer() {
      if (!session) throw new Error('no incoming call');
      session.answer({ mediaConstraints: media, pcConfig });
    },
    hangup() {
      if (!session) throw new Error('no call');
      session.terminate();
    },
    hold(done) {
      if (!session) throw new Error('no call');
      // On failure JsSIP ends the call itself (500 Hold Failed).
      if (!session.hold({}, () => done('ok'))) throw new Error('JsSIP cannot hold now');
    },
    unhold(done) {
      if (!session) throw new Error('no call');
      if (!session.unhold({}, () => done('ok'))) throw new Error('JsSIP cannot unhold now');
    },
    sendInfo(body, done) {
      if (!session) throw new Error('no call');
      infoDone = done;
      session.sendInfo('text/plain', body);
    },
    sendMessage(target, body, done) {
      ua.sendMessage(target, body, {
        eventHandlers: {
          succeeded: () => done('ok'),
          failed: (e) => done(`failed: ${e.cause} ${e.response ? e.response.status_code : ''}`),
        },
      });
    },
    dropTransport() {
      // The WebSocket object of JsSIP's WebSocketInterface; closing it
      // directly looks to JsSIP like a connection it lost.
      const ws = socket._ws;
      if (!ws) throw new Error('no WebSocket');
      ws.close();
    },
    peerConnection() {
      return session ? session.connection : null;
    },
    stop() {
      ua.stop();
    },
  };
}
