/**
 * Sizes and durations in corral's messages (the daemon's, the run flags'), binary units as Docker
 * prints limits. Docker's exact columns (go-units) are in src/units.ts.
 */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A measured amount (a usage, a limit), rounded to 2 decimals of a binary unit: "32MiB", "1.5GiB", "40.52MiB". */
export function formatSizeRounded(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, '');
  return `${text}${UNITS[unit]}`;
}

/** A size the user gave, exactly: "32MiB" when it is a whole number of a binary unit, else "1234 bytes". */
export function formatSizeExact(bytes: number): string {
  const units: [string, number][] = [
    ['PiB', 2 ** 50],
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  for (const [name, size] of units) {
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${name}`;
  }
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}

/** Docker's units.HumanDuration (go-units), for "Up 5 minutes" and "Exited (0) 2 hours ago". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}
