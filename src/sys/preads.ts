/**
 * The stats sampler's batched reads: corral_preads() of native/libcorral-sample.so (native/sample/
 * preads.c), through koffi. One call reads many kept descriptors whole at offset 0, where
 * fs.readSync costs about as much again as each pread it makes.
 */
import { fileURLToPath } from 'node:url';

/**
 * Reads each of the first `n` descriptors whole from offset 0, one after the other into `buf`: file
 * i's bytes end at ends[i] (and start at ends[i - 1], or 0); errnos[i] is 0 or why it failed (its
 * bytes then empty; ENOBUFS: `buf` was too small). Returns the bytes used.
 */
export type Preads = (fds: Int32Array, n: number, buf: Uint8Array, ends: Int32Array, errnos: Int32Array) => number;

/** Where the build puts the library: native/ of the checkout (dist/src/sys/ and the bundle in dist/src/cli/ are at the same depth). */
export const SAMPLE_LIBRARY = fileURLToPath(new URL('../../../native/libcorral-sample.so', import.meta.url));

/** corral_preads(), loaded on first use; throws when the library or koffi cannot be loaded. */
export async function loadPreads(library = SAMPLE_LIBRARY): Promise<Preads> {
  const { default: koffi } = await import('koffi');
  // plain pointers: koffi hands the typed arrays' own memory to the call, nothing is copied
  const preads = koffi.load(library).func('int corral_preads(void *fds, int n, void *buf, int cap, void *ends, void *errnos)');
  return (fds, n, buf, ends, errnos) => {
    if (n > fds.length || n > ends.length || n > errnos.length) throw new RangeError(`corral_preads: ${n} descriptors for arrays of ${Math.min(fds.length, ends.length, errnos.length)}`);
    return preads(fds, n, buf, buf.length, ends, errnos) as number;
  };
}
