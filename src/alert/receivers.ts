/**
 * The receivers: Alertmanager (API v2), webhooks (Alertmanager's webhook payload, optionally signed
 * with HMAC-SHA256) and the JSON-lines log. Each turns a batch of queued notifications into one
 * request and says how it went: taken, to retry (connection refused or reset, timeout, 5xx, 408,
 * 429), or refused for good (any other 4xx, with the receiver's own text).
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import type { Alert } from './engine.js';
import { alertmanagerBody, webhookPayload } from './payload.js';

export type SendResult = { outcome: 'sent' } | { outcome: 'retry'; reason: string } | { outcome: 'refused'; status: number; reason: string };

export interface Receiver {
  /** stable across restarts (the queue's file names carry it): kind and a hash of the URL */
  readonly id: string;
  /** for logs: "alertmanager http://..." */
  readonly description: string;
  /** how many notifications one request may carry */
  readonly batch: number;
  send(alerts: readonly Alert[], now: number): Promise<SendResult>;
}

export interface HttpOptions {
  /** ms a request may take, answer included */
  timeoutMs: number;
  /** the generatorURL of every alert */
  generatorURL: string;
  /** ms between resends of firing alerts (Alertmanager: endsAt is four of them after the send) */
  resendMs: number;
  /** webhooks: the HMAC-SHA256 key */
  secret?: Buffer;
}

/** The header a signed webhook carries: `sha256=` and the hex HMAC-SHA256 of the body, as GitHub's X-Hub-Signature-256. */
export const SIGNATURE_HEADER = 'X-Corral-Signature-256';

export function signature(secret: Buffer, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function idOf(kind: string, url: string): string {
  return `${kind}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/** How long a refusal's text may be in logs. */
const REASON_CHARS = 500;

/** POST a JSON body; the outcome by status. */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<SendResult> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return { outcome: 'retry', reason: `no answer within ${timeoutMs} ms` };
    // fetch says "fetch failed"; its cause says why (ECONNREFUSED, ECONNRESET, "bad port")
    return { outcome: 'retry', reason: e.cause?.code ?? e.cause?.message ?? e.message };
  }
  let text = '';
  try {
    text = (await res.text()).trim().slice(0, REASON_CHARS);
  } catch (err) {
    text = `(the answer's body could not be read: ${(err as Error).message})`;
  }
  if (res.status >= 200 && res.status < 300) return { outcome: 'sent' };
  if (res.status >= 500 || res.status === 408 || res.status === 429) return { outcome: 'retry', reason: `${res.status} ${text}`.trim() };
  return { outcome: 'refused', status: res.status, reason: text || res.statusText };
}

/** An Alertmanager: POST {url}/api/v2/alerts with up to 64 alerts (Prometheus' batch). */
export function alertmanagerReceiver(url: string, options: HttpOptions): Receiver {
  const endpoint = `${url.replace(/\/+$/, '')}/api/v2/alerts`;
  return {
    id: idOf('am', url),
    description: `alertmanager ${url}`,
    batch: 64,
    send: (alerts, now) => postJson(endpoint, JSON.stringify(alertmanagerBody(alerts, now, options.resendMs, options.generatorURL)), {}, options.timeoutMs),
  };
}

/** The receiver name in webhook payloads. */
export const WEBHOOK_RECEIVER_NAME = 'corral-alert';

/** A webhook: POST url with Alertmanager's webhook payload, up to 32 alerts. */
export function webhookReceiver(url: string, options: HttpOptions): Receiver {
  return {
    id: idOf('wh', url),
    description: `webhook ${url}`,
    batch: 32,
    send: (alerts) => {
      const body = JSON.stringify(webhookPayload(alerts, WEBHOOK_RECEIVER_NAME, options.generatorURL, options.generatorURL));
      return postJson(url, body, options.secret ? { [SIGNATURE_HEADER]: signature(options.secret, body) } : {}, options.timeoutMs);
    },
  };
}

/**
 * The JSON-lines log: one line per notification, `{"time", "status", "alertname", "fingerprint",
 * "labels", "annotations", "startsAt", "endsAt"}`, appended to a file (or stdout for `-`).
 */
export function logReceiver(target: string): Receiver {
  return {
    id: target === '-' ? 'log-stdout' : idOf('log', target),
    description: `log ${target === '-' ? 'stdout' : target}`,
    batch: 256,
    send: async (alerts, now) => {
      const lines = alerts
        .map((a) =>
          JSON.stringify({
            time: new Date(now).toISOString(),
            status: a.status,
            alertname: a.rule,
            fingerprint: a.fingerprint,
            labels: a.labels,
            annotations: a.annotations,
            startsAt: new Date(a.startsAt).toISOString(),
            ...(a.endsAt !== undefined ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
          }),
        )
        .join('\n');
      try {
        if (target === '-') await new Promise<void>((resolve, reject) => process.stdout.write(`${lines}\n`, (err) => (err ? reject(err) : resolve())));
        else fs.appendFileSync(target, `${lines}\n`);
        return { outcome: 'sent' };
      } catch (err) {
        return { outcome: 'retry', reason: (err as Error).message };
      }
    },
  };
}
