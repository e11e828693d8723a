import { readExifOrientation } from './exif-orientation';
import { ImageInputError } from './image-input.error';

export interface ContainerHeader {
  /** Width and height of the stored pixel grid, before any orientation is applied. */
  readonly codedWidth: number;
  readonly codedHeight: number;
  /** EXIF-style orientation 1–8 that decoders apply for display. */
  readonly orientation: number;
}

/** Called as soon as the frame size is known, so absurd sizes are refused before the rest is walked. */
export type DimensionCheck = (codedWidth: number, codedHeight: number) => void;

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const TEM = 0x01;

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function isRestart(marker: number): boolean {
  return marker >= 0xd0 && marker <= 0xd7;
}

function unreadable(detail: string): ImageInputError {
  return new ImageInputError('IMAGE_UNREADABLE', `the JPEG file is damaged or truncated: ${detail}`);
}

/**
 * Walks a JPEG's marker segments without decoding anything: SOI, segments with lengths checked
 * against the buffer, exactly one SOFn frame header (for the size), at least one SOS whose
 * entropy-coded data is skipped up to the next marker, and the EOI. Bytes after the first
 * image's EOI are accepted only when the file itself ends with an EOI (embedded MPF images);
 * otherwise the file is refused. Every step moves forward, so the walk always ends.
 */
export function parseJpegHeader(bytes: Buffer, checkDimensions: DimensionCheck): ContainerHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI || bytes[2] !== 0xff) {
    throw unreadable('missing start-of-image marker');
  }
  let pos = 2;
  let frame: { width: number; height: number } | undefined;
  let orientation: number | undefined;
  let scans = 0;
  let end = -1;

  while (end < 0) {
    if (pos >= bytes.length) throw unreadable('ends before the end-of-image marker');
    if (bytes[pos] !== 0xff) throw unreadable('unexpected data where a marker should be');
    while (pos < bytes.length && bytes[pos] === 0xff) pos++; // fill bytes
    if (pos >= bytes.length) throw unreadable('ends inside a marker');
    const marker = bytes[pos];
    pos++;

    if (marker === EOI) {
      if (!frame) throw unreadable('no frame header');
      if (scans === 0) throw unreadable('no image data');
      end = pos;
      break;
    }
    if (marker === 0x00 || marker === SOI || isRestart(marker)) {
      throw unreadable('misplaced marker');
    }
    if (marker === TEM) continue;

    if (pos + 2 > bytes.length) throw unreadable('ends inside a segment length');
    const length = bytes.readUInt16BE(pos);
    if (length < 2) throw unreadable('invalid segment length');
    const segmentEnd = pos + length;
    if (segmentEnd > bytes.length) throw unreadable('a segment runs past the end of the file');
    const body = bytes.subarray(pos + 2, segmentEnd);

    if (isStartOfFrame(marker)) {
      if (frame) throw unreadable('more than one frame header');
      if (body.length < 6) throw unreadable('frame header too short');
      const components = body[5];
      if (components < 1 || components > 4 || body.length !== 6 + 3 * components) {
        throw unreadable('inconsistent frame header');
      }
      const precision = body[0];
      if (precision < 2 || precision > 16) throw unreadable('invalid sample precision');
      frame = { height: body.readUInt16BE(1), width: body.readUInt16BE(3) };
      checkDimensions(frame.width, frame.height);
    } else if (marker === APP1 && orientation === undefined && body.length > 6 && body.toString('latin1', 0, 6) === 'Exif\0\0') {
      orientation = readExifOrientation(body.subarray(6));
    }
    pos = segmentEnd;

    if (marker === SOS) {
      if (!frame) throw unreadable('scan before the frame header');
      const count = body.length > 0 ? body[0] : 0;
      if (count < 1 || count > 4 || body.length !== 4 + 2 * count) throw unreadable('inconsistent scan header');
      scans++;
      pos = skipEntropyCodedData(bytes, pos);
    }
  }

  if (end < bytes.length && !(bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === EOI)) {
    throw unreadable('data after the end-of-image marker');
  }
  if (!frame) throw unreadable('no frame header');
  return { codedWidth: frame.width, codedHeight: frame.height, orientation: orientation ?? 1 };
}

/** Returns the position of the next real marker (an 0xFF not followed by 0x00, RSTn or fill). */
function skipEntropyCodedData(bytes: Buffer, from: number): number {
  let pos = from;
  for (;;) {
    const at = bytes.indexOf(0xff, pos);
    if (at < 0 || at + 1 >= bytes.length) throw unreadable('image data ends without an end-of-image marker');
    const next = bytes[at + 1];
    if (next === 0x00 || isRestart(next)) {
      pos = at + 2;
    } else if (next === 0xff) {
      pos = at + 1;
    } else {
      return at;
    }
  }
}
