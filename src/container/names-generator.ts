/**
 * Docker's generated container names (moby's pkg/namesgenerator, internal/namesgenerator today):
 * `adjective_surname`, an adjective and the surname of a notable scientist or engineer, with one
 * random digit appended on each retry after a collision. The word lists are corral's own, shorter
 * than moby's; the shape is the same, so a generated name always passes Docker's name rule and
 * clients that parse names (`docker ps` NAMES, Compose) treat it as they treat Docker's.
 */
import { randomInt } from 'node:crypto';

export const ADJECTIVES: readonly string[] = [
  'admiring',
  'agitated',
  'amazing',
  'awesome',
  'blissful',
  'bold',
  'boring',
  'brave',
  'busy',
  'charming',
  'clever',
  'confident',
  'cool',
  'cranky',
  'determined',
  'dreamy',
  'eager',
  'elastic',
  'elegant',
  'epic',
  'festive',
  'focused',
  'friendly',
  'frosty',
  'gallant',
  'gifted',
  'gracious',
  'happy',
  'hopeful',
  'hungry',
  'jolly',
  'keen',
  'kind',
  'laughing',
  'lucid',
  'modest',
  'nifty',
  'optimistic',
  'patient',
  'pensive',
  'practical',
  'quirky',
  'relaxed',
  'serene',
  'sharp',
  'sleepy',
  'stoic',
  'tender',
  'trusting',
  'upbeat',
  'vibrant',
  'vigilant',
  'wizardly',
  'youthful',
  'zealous',
  'zen',
];

export const SURNAMES: readonly string[] = [
  'agnesi',
  'archimedes',
  'babbage',
  'bardeen',
  'bartik',
  'bohr',
  'bose',
  'brattain',
  'cannon',
  'cerf',
  'curie',
  'darwin',
  'dijkstra',
  'dirac',
  'easley',
  'einstein',
  'elion',
  'euclid',
  'euler',
  'faraday',
  'fermat',
  'fermi',
  'feynman',
  'franklin',
  'galileo',
  'gauss',
  'germain',
  'goldberg',
  'goodall',
  'hamilton',
  'hawking',
  'hertz',
  'hodgkin',
  'hopper',
  'hypatia',
  'jemison',
  'johnson',
  'kepler',
  'knuth',
  'lamarr',
  'lamport',
  'leavitt',
  'liskov',
  'lovelace',
  'maxwell',
  'mcclintock',
  'meitner',
  'mendel',
  'mirzakhani',
  'newton',
  'noether',
  'pascal',
  'pasteur',
  'payne',
  'raman',
  'ramanujan',
  'ride',
  'ritchie',
  'sammet',
  'shannon',
  'tesla',
  'thompson',
  'torvalds',
  'turing',
  'wilson',
  'wozniak',
  'wu',
  'yalow',
];

/** A uniform random integer in [0, n). */
export type RandomIndex = (n: number) => number;

/**
 * One candidate name. `retry` is how many were taken already: from the first retry on, a digit 0-9 is
 * appended, as moby does, so that six tries almost always find a free name even when many containers
 * run. moby never generates `boring_wozniak` ("Steve Wozniak is not boring"): neither does corral.
 */
export function generateName(retry: number, random: RandomIndex = randomInt): string {
  let name: string;
  do {
    name = `${ADJECTIVES[random(ADJECTIVES.length)]}_${SURNAMES[random(SURNAMES.length)]}`;
  } while (name === 'boring_wozniak');
  return retry > 0 ? `${name}${random(10)}` : name;
}

/** How many generated names create tries before it falls back to the short id, as moby's generateAndReserveName. */
export const GENERATED_NAME_TRIES = 6;
