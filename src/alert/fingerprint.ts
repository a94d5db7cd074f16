/**
 * An alert's fingerprint as Alertmanager computes it (prometheus/common model.LabelSet.Fingerprint):
 * FNV-1a 64 over the labels sorted by name, each name and value followed by the 0xff separator,
 * written as 16 hex digits. The same labels give the same fingerprint in the sidecar, in its
 * webhooks' `fingerprint` and in Alertmanager, so that a resend or a replay after a crash is one alert
 * there, not two. Pure.
 */

const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

export function fingerprint(labels: Readonly<Record<string, string>>): string {
  let h = OFFSET;
  const add = (bytes: Uint8Array) => {
    for (const b of bytes) {
      h ^= BigInt(b);
      h = (h * PRIME) & MASK;
    }
  };
  const sep = Uint8Array.of(0xff);
  for (const name of Object.keys(labels).sort()) {
    add(Buffer.from(name, 'utf8'));
    add(sep);
    add(Buffer.from(labels[name]!, 'utf8'));
    add(sep);
  }
  return h.toString(16).padStart(16, '0');
}
