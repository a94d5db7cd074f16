/**
 * `docker system df`'s table from a GET /system/df answer, as docker/cli's formatter/disk_usage.go
 * computes it: images active when a container uses them, reclaimable what no used image needs
 * (their VirtualSize less SharedSize counted as used); containers active when running, paused or
 * restarting, reclaimable the writable layers of the others; sizes in go-units HumanSize (decimal,
 * 4 significant digits). corral has no volumes and no build cache. Pure.
 */
import { formatIoSize } from '../../units.js';

export interface DiskUsageAnswer {
  LayersSize: number;
  Images: { Containers: number; Size: number; SharedSize: number; VirtualSize?: number }[];
  Containers: { State: string; SizeRw?: number }[];
}

export interface DiskUsageRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

export const DISK_USAGE_TABLE = '{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
export const DISK_USAGE_HEADERS: DiskUsageRow = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

const human = (n: number) => formatIoSize(n, 4);

/** "1.984MB (100%)", or the size alone when there is nothing in all (Go's integer percentage). */
function reclaimable(part: number, total: number): string {
  return total > 0 ? `${human(part)} (${Math.trunc((part * 100) / total)}%)` : human(part);
}

export function diskUsageRows(df: DiskUsageAnswer): DiskUsageRow[] {
  const usedImages = df.Images.filter((i) => i.Containers > 0);
  const used = usedImages.reduce((n, i) => n + ((i.VirtualSize ?? i.Size) === -1 || i.SharedSize === -1 ? 0 : (i.VirtualSize ?? i.Size) - i.SharedSize), 0);
  const active = (state: string) => ['running', 'paused', 'restarting'].some((s) => state.includes(s));
  const rw = df.Containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const idleRw = df.Containers.filter((c) => !active(c.State)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  return [
    { Type: 'Images', TotalCount: String(df.Images.length), Active: String(usedImages.length), Size: human(df.LayersSize), Reclaimable: reclaimable(df.LayersSize - used, df.LayersSize) },
    { Type: 'Containers', TotalCount: String(df.Containers.length), Active: String(df.Containers.filter((c) => active(c.State)).length), Size: human(rw), Reclaimable: reclaimable(idleRw, rw) },
    { Type: 'Local Volumes', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
  ];
}
