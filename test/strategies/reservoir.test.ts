import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/random.js';
import { itemsOf, makeRoom, offer, reservoir, shares } from '../../src/strategies/reservoir.js';

/** Streams classes 0..9 (two per task, 500 items each) into a memory of 110 and returns it. */
function fill(seed: number) {
  const memory = reservoir<number>(110);
  const random = seededRandom(seed);
  for (let task = 0; task < 5; task++) {
    const keys = [`${2 * task}`, `${2 * task + 1}`];
    makeRoom(memory, keys, random);
    for (const key of keys) offer(memory, key, 500, (i) => Number(key) * 1000 + i, random);
  }
  return memory;
}

test('shares split the capacity evenly, the earliest classes taking the remainder', () => {
  assert.deepEqual(shares(10, 3), [4, 3, 3]);
  assert.deepEqual(shares(1100, 10), Array(10).fill(110));
});

test('the reservoir keeps a class-balanced memory within its capacity, the same for the same seed', () => {
  const memory = fill(1);
  const counts = [...memory.classes.values()].map((items) => items.length);
  assert.deepEqual(counts, Array(10).fill(11));
  for (const [key, items] of memory.classes) {
    assert.ok(
      items.every((v) => Math.floor(v / 1000) === Number(key)),
      `class ${key} keeps only its own`,
    );
    assert.equal(new Set(items).size, items.length, `class ${key} keeps each item once`);
  }
  assert.deepEqual(itemsOf(fill(1)), itemsOf(memory), 'the same seed, the same memory');
  assert.notDeepEqual(itemsOf(fill(2)), itemsOf(memory), 'another seed, another sample');
});

test('within a class every item of the stream is about equally likely to be kept (algorithm R)', () => {
  const hits = new Array(100).fill(0);
  for (let seed = 0; seed < 400; seed++) {
    const memory = reservoir<number>(10);
    const random = seededRandom(seed);
    makeRoom(memory, ['a'], random);
    offer(memory, 'a', 100, (i) => i, random);
    for (const v of itemsOf(memory)) hits[v]++;
  }
  // Each item is kept with probability 10/100: 40 times in 400 draws on average.
  const early = hits.slice(0, 50).reduce((a, b) => a + b, 0);
  const late = hits.slice(50).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(early - late) < 250, `early ${early} vs late ${late}`);
});
