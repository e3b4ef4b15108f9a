import { PGlite } from '@electric-sql/pglite';
for (let i = 0; i < 3; i++) {
const t0 = performance.now();
const db = new PGlite();
await db.waitReady;
console.log('ready', performance.now() - t0);
await db.close();
}
const t0 = performance.now();
const a = await PGlite.create();
const dump = await a.dumpDataDir('none');
console.log('dump', performance.now() - t0, dump.size);
const t1 = performance.now();
const b = await PGlite.create({ loadDataDir: dump });
console.log('load', performance.now() - t1);
