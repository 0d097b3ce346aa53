// The SIP.js phone of the harness (see harness.js for the hooks), on
// SIP.js's UserAgent API (not SimpleUser, which hides the session).
import {
  Inviter,
  Messager,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
  TransportState,
} from 'sip.js';

const sdhOptions = { constraints: { audio: true, video: false } };

export function newSIPjs(opts, hooks, log) {
  let session = null;
  let registerer = null;
  let stopping = false;

  function watch(s) {
    session = s;
    s.delegate = {
      // A re-INVITE SIP.js answered: note a hold or unhold by its offer's
      // direction (SIP.js has no hold event).
      onInvite: (request, _response, statusCode) => {
        if (statusCode < 200 || statusCode >= 300) return;
        const held = /a=(sendonly|inactive)/.test(request.body || '');
        if (held !== !!s.__remoteHold) {
          s.__remoteHold = held;
          hooks.hold(held ? 'hold' : 'unhold', 'remote');
        }
      },
      onInfo: (info) => {
        info.accept();
        hooks.info(info.request.body);
      },
    };
    s.stateChange.addListener((st) => {
      if (st === SessionState.Established) hooks.confirmed();
      if (st === SessionState.Terminated) {
        // A session that never got established failed (rejected, cancelled).
        if (s.__established) hooks.ended(s.__endedBy || 'remote');
        else hooks.failed(s.__endedBy || 'not established');
      }
      if (st === SessionState.Established) s.__established = true;
    });
  }

  // reinvite sends a re-INVITE that puts the other side on hold or takes
  // it off hold (SIP.js's SessionDescriptionHandler sets the directions).
  function reinvite(hold, done) {
    if (!session || session.state !== SessionState.Established) throw new Error('no call');
    hooks.hold(hold ? 'hold' : 'unhold', 'local');
    session.sessionDescriptionHandlerOptionsReInvite = { ...sdhOptions, hold };
    session.invite({
      requestDelegate: {
        onAccept: () => done('ok'),
        onReject: (r) => done(`failed: ${r.message.statusCode} ${r.message.reasonPhrase}`),
      },
    }).catch((e) => done(`failed: ${e}`));
  }

  const ua = new UserAgent({
    uri: UserAgent.makeURI(opts.uri),
    displayName: opts.name || '',
    transportOptions: { server: opts.ws, traceSip: !!opts.debug },
    logLevel: opts.debug ? 'debug' : 'warn',
    logBuiltinEnabled: true,
    userAgentString: 'e2e SIP.js',
    // Digest: the user part of uri and this password (SIP.js answers MD5
    // challenges only, the first of a response).
    ...(opts.password ? { authorizationUsername: UserAgent.makeURI(opts.uri).user, authorizationPassword: opts.password } : {}),
    ...(opts.instance ? { instanceId: opts.instance, instanceIdAlwaysAdded: true } : {}),
    sessionDescriptionHandlerFactoryOptions: {
      peerConnectionConfiguration: { iceServers: [] },
      iceGatheringTimeout: 2000,
    },
    delegate: {
      onConnect: () => {
        hooks.transportUp();
        // After a reconnect, register again over the new WebSocket.
        if (registerer && !stopping) registerer.register().catch((e) => hooks.registerFailed(e));
      },
      onDisconnect: (err) => {
        hooks.transportDown(err ? err.message : 'clean');
        if (err && !stopping) {
          // SIP.js's UserAgent does not reconnect by itself (SimpleUser
          // does): try again soon, as a web phone would.
          setTimeout(() => ua.reconnect().catch((e) => log(`reconnect failed: ${e}`)), 500);
        }
      },
      onInvite: (invitation) => {
        if (session && session.state !== SessionState.Terminated) {
          log('second incoming call while one is active: 486');
          invitation.reject({ statusCode: 486 });
          return;
        }
        watch(invitation);
        hooks.incoming(invitation.remoteIdentity.uri.toString());
      },
      onMessage: (message) => {
        message.accept();
        hooks.message(message.request.from.uri.toString(), message.request.body);
      },
    },
  });

  return {
    async start() {
      await ua.start();
      registerer = new Registerer(ua, { expires: 600 });
      registerer.stateChange.addListener((st) => {
        if (st === RegistererState.Registered) hooks.registered();
        if (st === RegistererState.Unregistered) hooks.unregistered();
      });
      registerer.register({
        requestDelegate: {
          onReject: (r) => hooks.registerFailed(`${r.message.statusCode} ${r.message.reasonPhrase}`),
        },
      }).catch((e) => hooks.registerFailed(e));
    },
    call(target) {
      const uri = UserAgent.makeURI(target);
      if (!uri) throw new Error(`bad target ${target}`);
      const inviter = new Inviter(ua, uri, { sessionDescriptionHandlerOptions: sdhOptions });
      watch(inviter);
      inviter.invite({
        requestDelegate: {
          onReject: (r) => { inviter.__endedBy = `remote: ${r.message.statusCode} ${r.message.reasonPhrase}`; },
        },
      }).catch((e) => hooks.failed(e));
    },
    answer() {
      if (!session) throw new Error('no incoming call');
      session.accept({ sessionDescriptionHandlerOptions: sdhOptions }).catch((e) => hooks.failed(e));
    },
    hangup() {
      if (!session) throw new Error('no call');
      session.__endedBy = 'local';
      if (session.state === SessionState.Established) return session.bye().then(() => undefined);
      if (session instanceof Inviter) return session.cancel().then(() => undefined);
      return session.reject().then(() => undefined);
    },
    hold(done) {
      return reinvite(true, done);
    },
    unhold(done) {
      return reinvite(false, done);
    },
    sendInfo(body, done) {
      if (!session || session.state !== SessionState.Established) throw new Error('no call');
      session.info({
        requestOptions: { body: { contentDisposition: 'render', contentType: 'text/plain', content: body } },
        requestDelegate: {
          onAccept: () => done('ok'),
          onReject: (r) => done(`failed: ${r.message.statusCode} ${r.message.reasonPhrase}`),
        },
      }).catch((e) => done(`failed: ${e}`));
    },
    sendMessage(target, body, done) {
      const uri = UserAgent.makeURI(target);
      if (!uri) throw new Error(`bad target ${target}`);
      new Messager(ua, uri, body).message({
        requestDelegate: {
          onAccept: () => done('ok'),
          onReject: (r) => done(`failed: ${r.message.statusCode} ${r.message.reasonPhrase}`),
        },
      }).catch((e) => done(`failed: ${e}`));
    },
    dropTransport() {
      // Closing SIP.js's WebSocket directly looks to it like a lost
      // connection (onDisconnect with an error).
      const ws = ua.transport.ws;
      if (!ws || ua.transport.state !== TransportState.Connected) throw new Error('no WebSocket');
      ws.close();
    },
    peerConnection() {
      const sdh = session && session.sessionDescriptionHandler;
      return sdh ? sdh.peerConnection : null;
    },
    async stop() {
      stopping = true;
      await ua.stop();
    },
  };
}
