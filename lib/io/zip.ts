// ZIP archives as numpy.savez writes them (zip64 local headers, stored or deflated members) and a
// reader that checks every offset, size, overlap and CRC of an untrusted archive before use.
import { deflate, inflate } from "./inflate.ts";

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (ZIP's polynomial) of `b`. */
export function crc32(b: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** One archive member. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const DOS_DATE_1980 = 0x21; // 1980-01-01, the date Python's zipfile gives members opened by name

/** A ZIP archive laid out exactly as Python's `zipfile` (numpy.savez) lays it out. */
export function writeZip(entries: ZipEntry[], compress: boolean): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const flags = name.length === e.name.length ? 0 : 0x800; // UTF-8 flag for non-ASCII names
    const body = compress ? deflate(e.data) : e.data;
    const crc = crc32(e.data);
    if (offset + body.length + 100 + name.length > 0xfffffffe) {
      throw new RangeError("toNpz: archives over 4 GiB are not supported");
    }
    const local = new Uint8Array(30 + name.length + 20);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 45, true);
    lv.setUint16(6, flags, true);
    lv.setUint16(8, compress ? 8 : 0, true);
    lv.setUint16(12, DOS_DATE_1980, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, 0xffffffff, true);
    lv.setUint32(22, 0xffffffff, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 20, true);
    local.set(name, 30);
    const x = 30 + name.length;
    lv.setUint16(x, 1, true);
    lv.setUint16(x + 2, 16, true);
    lv.setBigUint64(x + 4, BigInt(e.data.length), true);
    lv.setBigUint64(x + 12, BigInt(body.length), true);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 0x032d, true);
    cv.setUint16(6, 45, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, compress ? 8 : 0, true);
    cv.setUint16(14, DOS_DATE_1980, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, 0o600 << 16, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    parts.push(local, body);
    central.push(cd);
    offset += local.length + body.length;
  }
  if (entries.length > 0xffff) throw new RangeError("toNpz: more than 65535 arrays");
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of all) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The largest DEFLATE expansion ratio (258-byte matches of 1-2 bits plus slack). */
const MAX_RATIO = 1032;

/** Reads every member of a ZIP archive, validating its structure first. */
export function readZip(op: string, bytes: Uint8Array): ZipEntry[] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string): never => {
    throw new RangeError(`${op}: corrupt archive: ${msg}`);
  };
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new TypeError(`${op}: not a zip archive (no end of central directory)`);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOff = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) bad("zip64 locator missing");
    const z = Number(dv.getBigUint64(loc + 8, true));
    if (z < 0 || z + 56 > loc || dv.getUint32(z, true) !== 0x06064b50) bad("zip64 record missing");
    count = Number(dv.getBigUint64(z + 32, true));
    cdSize = Number(dv.getBigUint64(z + 40, true));
    cdOff = Number(dv.getBigUint64(z + 48, true));
  }
  if (cdOff + cdSize > eocd) bad(`central directory [${cdOff}, +${cdSize}) past its end record`);
  if (count * 46 > cdSize) bad(`${count} entries cannot fit in ${cdSize} directory bytes`);
  const dec = new TextDecoder("utf-8", { fatal: false });
  const spans: [number, number, string][] = [];
  const todo: { name: string; raw: Uint8Array; method: number; usize: number; crc: number }[] = [];
  let p = cdOff;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdOff + cdSize || dv.getUint32(p, true) !== 0x02014b50) bad(`entry ${k} header`);
    const flags = dv.getUint16(p + 8, true), method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let csize = dv.getUint32(p + 20, true), usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true), xlen = dv.getUint16(p + 30, true);
    const clen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    if (p + 46 + nlen + xlen + clen > cdOff + cdSize) bad(`entry ${k} runs past the directory`);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nlen));
    for (let x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const id = dv.getUint16(x, true), sz = dv.getUint16(x + 2, true);
      if (x + 4 + sz > p + 46 + nlen + xlen) bad(`entry ${name}: extra field overruns`);
      if (id === 1) {
        let y = x + 4;
        const next = () => {
          if (y + 8 > x + 4 + sz) bad(`entry ${name}: short zip64 field`);
          const v = Number(dv.getBigUint64(y, true));
          y += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = next();
        if (csize === 0xffffffff) csize = next();
        if (local === 0xffffffff) local = next();
      }
      x += 4 + sz;
    }
    p += 46 + nlen + xlen + clen;
    if (flags & 1) throw new TypeError(`${op}: member ${name} is encrypted`);
    if (method !== 0 && method !== 8) {
      throw new TypeError(`${op}: member ${name} uses compression method ${method}`);
    }
    if (local + 30 > cdOff || dv.getUint32(local, true) !== 0x04034b50) {
      bad(`member ${name}: local header at ${local} out of range`);
    }
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + csize > cdOff) bad(`member ${name}: data [${start}, +${csize}) out of range`);
    if (method === 0 && csize !== usize) bad(`member ${name}: stored sizes ${csize} != ${usize}`);
    if (usize > csize * MAX_RATIO + 64) {
      throw new RangeError(`${op}: member ${name} claims ${usize} bytes from ${csize} compressed`);
    }
    spans.push([local, start + csize, name]);
    todo.push({ name, raw: bytes.subarray(start, start + csize), method, usize, crc });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) bad(`members ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
  }
  return todo.map(({ name, raw, method, usize, crc }) => {
    const data = method === 0 ? raw : inflate(raw, usize);
    if (crc32(data) !== crc) bad(`member ${name}: CRC mismatch`);
    return { name, data };
  });
}
