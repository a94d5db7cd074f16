/**
 * What receivers are sent, in Alertmanager's own shapes. Pure.
 *
 * - Alertmanager API v2, POST /api/v2/alerts: a JSON array of postableAlert (labels, annotations,
 *   startsAt, endsAt, generatorURL). A firing alert's endsAt is set as Prometheus sets it, four resend
 *   intervals after the send, so that Alertmanager resolves it by itself if the sidecar is gone; a
 *   resolved alert's endsAt is when it resolved.
 * - Webhooks: Alertmanager's webhook payload (version "4": receiver, status, alerts[] with
 *   fingerprint, groupLabels, commonLabels, commonAnnotations, externalURL, groupKey,
 *   truncatedAlerts), so that a receiver written for Alertmanager takes corral's as they are.
 */
import type { Alert } from './engine.js';

/** Go's zero time, Alertmanager's endsAt of a firing alert in webhooks. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The body of POST /api/v2/alerts, made at `sendTime`. */
export function alertmanagerBody(alerts: readonly Alert[], sendTime: number, resendMs: number, generatorURL: string): PostableAlert[] {
  return alerts.map((a) => ({
    labels: a.labels,
    annotations: a.annotations,
    startsAt: iso(a.startsAt),
    endsAt: iso(a.status === 'resolved' && a.endsAt !== undefined ? a.endsAt : sendTime + 4 * resendMs),
    generatorURL,
  }));
}

export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookPayload {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

/** The pairs every one of `maps` has, with the same value (Alertmanager's commonLabels). */
function common(maps: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

/** Alertmanager's groupKey for a route with no group_by: `{}:{}`, prefixed with the receiver's name as its webhook does. */
export function webhookPayload(alerts: readonly Alert[], receiver: string, externalURL: string, generatorURL: string): WebhookPayload {
  const status = alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved';
  return {
    receiver,
    status,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      endsAt: a.status === 'resolved' && a.endsAt !== undefined ? iso(a.endsAt) : ZERO_TIME,
      generatorURL,
      fingerprint: a.fingerprint,
    })),
    groupLabels: {},
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL,
    version: '4',
    groupKey: `{}/${receiver}:{}`,
    truncatedAlerts: 0,
  };
}
