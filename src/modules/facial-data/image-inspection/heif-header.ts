import { ImageInputError } from './image-input.error';
import type { ContainerHeader, DimensionCheck } from './jpeg-header';

/** Brands of HEVC-coded HEIF images and image sequences (ISO/IEC 23008-12 annex B). */
export const HEVC_HEIF_BRANDS: ReadonlySet<string> = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis']);
/** Codec-neutral HEIF structural brands (image item / image sequence). */
export const GENERIC_HEIF_BRANDS: ReadonlySet<string> = new Set(['mif1', 'msf1']);

const MAX_BOXES_PER_LEVEL = 4096;
const MAX_ITEMS = 65536;

interface Box {
  readonly type: string;
  /** First byte of the box's payload (after size, type, largesize and uuid). */
  readonly start: number;
  /** One past the last byte of the box. */
  readonly end: number;
}

function unreadable(detail: string): ImageInputError {
  return new ImageInputError('IMAGE_UNREADABLE', `the HEIC file is damaged or truncated: ${detail}`);
}

/**
 * Whether an `ftyp` declares a HEIC file: a HEVC HEIF brand or a generic HEIF brand as the major
 * brand, or a HEVC HEIF brand among the compatible brands. An AVIF (`avif` major brand, `mif1`
 * only as a compatible brand) is not a HEIC.
 */
export function isHeicBrandSet(major: string, compatible: readonly string[]): boolean {
  if (HEVC_HEIF_BRANDS.has(major) || GENERIC_HEIF_BRANDS.has(major)) return true;
  return compatible.some((brand) => HEVC_HEIF_BRANDS.has(brand));
}

/**
 * Cheap signature test: an ISO-BMFF file whose first box is `ftyp` with HEIC brands. Reads only
 * the bytes that exist, so a truncated file is still recognised (and then refused as unreadable).
 */
export function looksLikeHeic(bytes: Buffer): boolean {
  if (bytes.length < 12 || bytes.toString('latin1', 4, 8) !== 'ftyp') return false;
  const declared = bytes.readUInt32BE(0);
  const end = Math.min(bytes.length, declared >= 16 ? declared : 16);
  const major = bytes.toString('latin1', 8, 12);
  const compatible: string[] = [];
  for (let at = 16; at + 4 <= end; at += 4) compatible.push(bytes.toString('latin1', at, at + 4));
  return isHeicBrandSet(major, compatible);
}

function readBoxes(bytes: Buffer, from: number, to: number, topLevel: boolean): Box[] {
  const boxes: Box[] = [];
  let pos = from;
  while (pos < to) {
    if (boxes.length >= MAX_BOXES_PER_LEVEL) throw unreadable('too many boxes');
    if (pos + 8 > to) throw unreadable('a box header runs past its container');
    const size32 = bytes.readUInt32BE(pos);
    const type = bytes.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    let size: number;
    if (size32 === 1) {
      if (pos + 16 > to) throw unreadable('a box header runs past its container');
      const large = bytes.readBigUInt64BE(pos + 8);
      if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable('box size out of range');
      size = Number(large);
      header = 16;
    } else if (size32 === 0) {
      if (!topLevel) throw unreadable('open-ended box inside a container');
      size = to - pos;
    } else {
      size = size32;
    }
    if (type === 'uuid') header += 16;
    if (size < header) throw unreadable(`the ${printable(type)} box is smaller than its header`);
    const end = pos + size;
    if (end > to) throw unreadable(`the ${printable(type)} box runs past its container`);
    boxes.push({ type, start: pos + header, end });
    pos = end;
  }
  return boxes;
}

function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? `'${type}'` : 'unnamed';
}

function only(boxes: readonly Box[], type: string, required: boolean): Box | undefined {
  const found = boxes.filter((box) => box.type === type);
  if (found.length > 1) throw unreadable(`more than one '${type}' box`);
  if (required && found.length === 0) throw unreadable(`no '${type}' box`);
  return found[0];
}

/** A bounds-checked reader over one box's payload. */
class Cursor {
  private pos: number;

  constructor(
    private readonly bytes: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  private need(count: number): void {
    if (this.pos + count > this.end) throw unreadable('a box is shorter than its fields');
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  u16(): number {
    this.need(2);
    const value = this.bytes.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.bytes.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** An unsigned integer of 0, 4 or 8 bytes (the iloc field sizes). */
  sized(size: number): number {
    if (size === 0) return 0;
    if (size === 4) return this.u32();
    if (size === 8) {
      this.need(8);
      const value = this.bytes.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable('offset out of range');
      return Number(value);
    }
    throw unreadable('invalid field size');
  }

  fourcc(): string {
    this.need(4);
    const value = this.bytes.toString('latin1', this.pos, this.pos + 4);
    this.pos += 4;
    return value;
  }

  fullBoxHeader(): { version: number; flags: number } {
    const word = this.u32();
    return { version: word >>> 24, flags: word & 0xffffff };
  }
}

interface ItemLocation {
  readonly itemId: number;
  readonly constructionMethod: number;
  readonly extents: ReadonlyArray<{ readonly offset: number; readonly length: number }>;
}

function parseIloc(bytes: Buffer, box: Box): ItemLocation[] {
  const c = new Cursor(bytes, box.start, box.end);
  const { version } = c.fullBoxHeader();
  if (version > 2) throw unreadable('unsupported iloc version');
  const sizes = c.u16();
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 0x0f;
  const baseOffsetSize = (sizes >> 4) & 0x0f;
  const indexSize = version >= 1 ? sizes & 0x0f : 0;
  const itemCount = version < 2 ? c.u16() : c.u32();
  if (itemCount > MAX_ITEMS) throw unreadable('too many items');
  const items: ItemLocation[] = [];
  for (let i = 0; i < itemCount; i++) {
    const itemId = version < 2 ? c.u16() : c.u32();
    const constructionMethod = version >= 1 ? c.u16() & 0x0f : 0;
    if (constructionMethod > 2) throw unreadable('invalid construction method');
    const dataReferenceIndex = c.u16();
    if (dataReferenceIndex !== 0) throw unreadable('image data stored outside the file');
    const baseOffset = c.sized(baseOffsetSize);
    const extentCount = c.u16();
    const extents: Array<{ offset: number; length: number }> = [];
    for (let e = 0; e < extentCount; e++) {
      if (indexSize > 0) c.sized(indexSize);
      const offset = c.sized(offsetSize);
      const length = c.sized(lengthSize);
      extents.push({ offset: baseOffset + offset, length });
    }
    items.push({ itemId, constructionMethod, extents });
  }
  return items;
}

/** Property indices (1-based into ipco) associated with each item. */
function parseIpma(bytes: Buffer, box: Box, into: Map<number, number[]>): void {
  const c = new Cursor(bytes, box.start, box.end);
  const { version, flags } = c.fullBoxHeader();
  if (version > 1) throw unreadable('unsupported ipma version');
  const entryCount = c.u32();
  if (entryCount > MAX_ITEMS) throw unreadable('too many property associations');
  for (let i = 0; i < entryCount; i++) {
    const itemId = version < 1 ? c.u16() : c.u32();
    const count = c.u8();
    const indices = into.get(itemId) ?? [];
    for (let a = 0; a < count; a++) {
      const index = flags & 1 ? c.u16() & 0x7fff : c.u8() & 0x7f;
      if (index !== 0) indices.push(index);
    }
    into.set(itemId, indices);
  }
}

interface Spatial {
  readonly width: number;
  readonly height: number;
}

/**
 * Reads a HEIC (ISO-BMFF HEIF) container without decoding anything: `ftyp` first with HEIC
 * brands, every box bounded by its parent, exactly one top-level `meta` with a `pict` handler,
 * `iloc`, and `iprp/ipco`. The size is the `ispe` of the primary item (`pitm` + `ipma`), or the
 * largest `ispe` when the primary one cannot be found; an `irot` of 90°/270° on the primary item
 * swaps the displayed axes. Every `iloc` extent stored in the file or in `idat` must lie inside
 * it, which is how a truncated file is caught.
 */
export function parseHeifHeader(bytes: Buffer, checkDimensions: DimensionCheck): ContainerHeader {
  const top = readBoxes(bytes, 0, bytes.length, true);
  const ftyp = top[0];
  if (!ftyp || ftyp.type !== 'ftyp') throw unreadable('the first box is not ftyp');
  const ftypLength = ftyp.end - ftyp.start;
  if (ftypLength < 8 || ftypLength % 4 !== 0) throw unreadable('invalid ftyp box');
  const major = bytes.toString('latin1', ftyp.start, ftyp.start + 4);
  const compatible: string[] = [];
  for (let at = ftyp.start + 8; at < ftyp.end; at += 4) compatible.push(bytes.toString('latin1', at, at + 4));
  if (!isHeicBrandSet(major, compatible)) throw unreadable('not a HEIC brand');

  const meta = only(top, 'meta', true) as Box;
  const metaHeader = new Cursor(bytes, meta.start, meta.end).fullBoxHeader();
  if (metaHeader.version !== 0) throw unreadable('unsupported meta version');
  const children = readBoxes(bytes, meta.start + 4, meta.end, false);

  const hdlr = only(children, 'hdlr', true) as Box;
  const handler = new Cursor(bytes, hdlr.start, hdlr.end);
  handler.fullBoxHeader();
  handler.u32(); // pre_defined
  if (handler.fourcc() !== 'pict') throw unreadable('the meta box does not describe a picture');

  let primaryId: number | undefined;
  const pitm = only(children, 'pitm', false);
  if (pitm) {
    const c = new Cursor(bytes, pitm.start, pitm.end);
    const { version } = c.fullBoxHeader();
    primaryId = version === 0 ? c.u16() : c.u32();
  }

  const locations = parseIloc(bytes, only(children, 'iloc', true) as Box);
  const idat = only(children, 'idat', false);
  for (const location of locations) {
    for (const extent of location.extents) {
      if (location.constructionMethod === 0) {
        if (extent.offset > bytes.length || extent.offset + extent.length > bytes.length) {
          throw unreadable('item data lies beyond the end of the file');
        }
      } else if (location.constructionMethod === 1) {
        const size = idat ? idat.end - idat.start : 0;
        if (extent.offset > size || extent.offset + extent.length > size) throw unreadable('item data lies beyond the idat box');
      }
    }
  }

  const iprp = only(children, 'iprp', true) as Box;
  const iprpChildren = readBoxes(bytes, iprp.start, iprp.end, false);
  const ipco = only(iprpChildren, 'ipco', true) as Box;
  const properties = readBoxes(bytes, ipco.start, ipco.end, false);
  const associations = new Map<number, number[]>();
  for (const ipma of iprpChildren.filter((box) => box.type === 'ipma')) parseIpma(bytes, ipma, associations);

  const spatial = (box: Box): Spatial => {
    const c = new Cursor(bytes, box.start, box.end);
    const { version } = c.fullBoxHeader();
    if (version !== 0) throw unreadable('unsupported ispe version');
    return { width: c.u32(), height: c.u32() };
  };

  let size: Spatial | undefined;
  let quarterTurns = 0;
  if (primaryId !== undefined) {
    for (const index of associations.get(primaryId) ?? []) {
      const property = properties[index - 1];
      if (!property) throw unreadable('a property association points outside ipco');
      if (property.type === 'ispe' && !size) size = spatial(property);
      if (property.type === 'irot') quarterTurns = new Cursor(bytes, property.start, property.end).u8() & 0x03;
    }
  }
  if (!size) {
    for (const property of properties) {
      if (property.type !== 'ispe') continue;
      const candidate = spatial(property);
      if (!size || candidate.width * candidate.height > size.width * size.height) size = candidate;
    }
  }
  if (!size) throw unreadable('no image size (ispe) property');
  checkDimensions(size.width, size.height);

  // Report the turn as the EXIF orientation with the same effect on the axes
  // (irot turns anti-clockwise: 1 → EXIF 8, 2 → EXIF 3, 3 → EXIF 6).
  const orientation = [1, 8, 3, 6][quarterTurns];
  return { codedWidth: size.width, codedHeight: size.height, orientation };
}
