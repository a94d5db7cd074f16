/**
 * Docker's connection hijack for streaming endpoints (exec start): a client that sends
 * `Connection: Upgrade` and `Upgrade: tcp` (Docker's CLI and SDKs do) is answered with
 * `101 UPGRADED` and the raw stream on the connection, which the server then ends.
 *
 * node:http hands such a request to the server's 'upgrade' event with its socket, without reading
 * its body. serveUpgrade puts it through the same router as every other request: the body
 * (Content-Length bytes, from `head` and then the socket) is fed to a request object of its own, and
 * a ServerResponse on the socket answers whatever is not hijacked (an error, a route that does not
 * stream) as an ordinary response, after which the connection is closed. A handler that streams
 * takes the socket with hijackedSocket() and writes the 101 itself. What the client sends after the
 * body is the process's input (hijackedInput). The client may half-close its side right after the
 * request (Docker's CLI does, having no stdin to send): the socket stays writable until the handler
 * ends it.
 */
import http from 'node:http';
import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import type { Socket } from 'node:net';

const upgraded = new WeakMap<http.IncomingMessage, Duplex>();
/** What the client sends after the request's body (a process's input), per hijacked request */
const inputs = new WeakMap<http.IncomingMessage, PassThrough>();
/** The requests whose route takes that input (the others' is read and dropped) */
const inputTaken = new WeakSet<http.IncomingMessage>();

/**
 * The bytes a client sends after the request on a hijacked connection (`docker attach`'s keys),
 * for a route that takes them; ends when the client half-closes its side or goes away. Undefined
 * for a request that was not upgraded. Call before openStream: input no route took is dropped.
 */
export function hijackedInput(req: http.IncomingMessage): Readable | undefined {
  const input = inputs.get(req);
  if (input) inputTaken.add(req);
  return input;
}

/** The connection of a request that asked to be upgraded, for a handler that streams; undefined otherwise. */
export function hijackedSocket(req: http.IncomingMessage): Duplex | undefined {
  return upgraded.get(req);
}

/** Whether a request asks for Docker's hijack (`Upgrade: tcp`; Docker's CLI also sends `Connection: Upgrade`). */
export function wantsUpgrade(headers: http.IncomingHttpHeaders): boolean {
  return (headers.upgrade ?? '').toLowerCase() === 'tcp';
}

/**
 * The head of a hijacked answer, as moby writes it: `101 UPGRADED` with the upgrade headers, then
 * the headers the response already carries (the API's common ones), then the blank line.
 */
export function upgradeHead(contentType: string, headers: http.OutgoingHttpHeaders): string {
  const lines = ['HTTP/1.1 101 UPGRADED', `Content-Type: ${contentType}`, 'Connection: Upgrade', 'Upgrade: tcp'];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || ['content-type', 'connection', 'upgrade', 'content-length', 'transfer-encoding'].includes(name.toLowerCase())) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(v).replace(/[\r\n]/g, ' ')}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Answer a streaming route's request: hijacked (`101 UPGRADED` and the connection itself) when the
 * client asked for it, else a 200 whose body is the stream. What is written to the result is the
 * stream's bytes; ending it ends the answer.
 */
export function openStream(req: http.IncomingMessage, res: http.ServerResponse, contentType: string): Writable {
  const socket = hijackedSocket(req);
  if (socket && wantsUpgrade(req.headers)) {
    if (!inputTaken.has(req)) inputs.get(req)?.resume(); // read and dropped
    socket.write(upgradeHead(contentType, res.getHeaders()));
    return socket;
  }
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  return res;
}

/** Serve an upgrade request through `handle` (the router), as described above. */
export function serveUpgrade(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>, original: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  const req = new http.IncomingMessage(socket as Socket);
  req.method = original.method;
  req.url = original.url;
  req.headers = original.headers;
  req.rawHeaders = original.rawHeaders;
  req.httpVersionMajor = original.httpVersionMajor;
  req.httpVersionMinor = original.httpVersionMinor;
  req.httpVersion = original.httpVersion;
  const res = new http.ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => socket.end());
  socket.on('error', () => {}); // a client that went away: the handler sees the socket close
  upgraded.set(req, socket);

  // Node's parser refused a Content-Length that is not a number; a chunked body stays unread, so
  // the route sees an empty body and answers 400
  let remaining = original.headers['transfer-encoding'] === undefined ? Number(original.headers['content-length'] ?? 0) : 0;
  const endBody = () => {
    req.complete = true; // else the request destroys the socket when it ends
    req.push(null);
  };
  // after the body: input for the process, held (the socket paused) until the route takes or drops it
  const input = new PassThrough();
  inputs.set(req, input);
  input.on('drain', () => socket.resume());
  const toInput = (bytes: Buffer) => {
    if (bytes.length > 0 && !input.write(bytes)) socket.pause();
  };
  const feed = (chunk: Buffer) => {
    if (remaining === 0) return toInput(chunk);
    const part = chunk.subarray(0, remaining);
    remaining -= part.length;
    req.push(part);
    if (remaining === 0) endBody();
    toInput(chunk.subarray(part.length));
  };
  if (remaining === 0) endBody();
  if (head.length > 0) feed(head);
  socket.on('data', feed);
  socket.on('end', () => {
    if (remaining > 0) {
      remaining = 0;
      req.push(null); // a body cut short: the route's body reader reports it
    }
    input.end();
  });
  socket.once('close', () => input.end());
  socket.resume();
  void handle(req, res);
}
