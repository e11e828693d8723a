import { crc32 } from 'node:zlib';
import { readExifOrientation } from './exif-orientation';
import { ImageInputError } from './image-input.error';
import type { ContainerHeader, DimensionCheck } from './jpeg-header';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const MAX_CHUNK_LENGTH = 0x7fffffff;
const CRITICAL_CHUNKS = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
/** Allowed bit depths per colour type (PNG spec, table 11.1). */
const BIT_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function unreadable(detail: string): ImageInputError {
  return new ImageInputError('IMAGE_UNREADABLE', `the PNG file is damaged or truncated: ${detail}`);
}

function isLetter(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

/**
 * Walks a PNG's chunks without inflating anything: signature, IHDR first (13 bytes, valid CRC,
 * legal bit depth / colour type, size handed to `checkDimensions` at once), every chunk's length
 * bounded by the buffer and its CRC verified, no unknown critical chunk, PLTE before IDAT for
 * palette images, contiguous IDAT chunks, and IEND (empty) as the last bytes of the buffer.
 */
export function parsePngHeader(bytes: Buffer, checkDimensions: DimensionCheck): ContainerHeader {
  if (bytes.length < PNG_SIGNATURE.length || !bytes.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
    throw unreadable('bad signature');
  }
  let pos = PNG_SIGNATURE.length;
  let header: { width: number; height: number; colourType: number } | undefined;
  let orientation: number | undefined;
  let sawPalette = false;
  let idatState: 'none' | 'open' | 'closed' = 'none';
  let previousType = '';

  for (;;) {
    if (pos + 8 > bytes.length) throw unreadable('ends before the IEND chunk');
    const length = bytes.readUInt32BE(pos);
    if (length > MAX_CHUNK_LENGTH) throw unreadable('invalid chunk length');
    for (let i = 4; i < 8; i++) {
      if (!isLetter(bytes[pos + i])) throw unreadable('invalid chunk type');
    }
    const type = bytes.toString('latin1', pos + 4, pos + 8);
    const dataStart = pos + 8;
    const dataEnd = dataStart + length;
    if (dataEnd + 4 > bytes.length) throw unreadable(`the ${type} chunk runs past the end of the file`);
    const expectedCrc = bytes.readUInt32BE(dataEnd);
    if (crc32(bytes.subarray(pos + 4, dataEnd)) !== expectedCrc) throw unreadable(`bad CRC in the ${type} chunk`);
    const data = bytes.subarray(dataStart, dataEnd);

    if (!header) {
      if (type !== 'IHDR' || length !== 13) throw unreadable('the first chunk is not a valid IHDR');
      const width = data.readUInt32BE(0);
      const height = data.readUInt32BE(4);
      const bitDepth = data[8];
      const colourType = data[9];
      if (width > MAX_CHUNK_LENGTH || height > MAX_CHUNK_LENGTH) throw unreadable('invalid IHDR size');
      if (!(BIT_DEPTHS[colourType] ?? []).includes(bitDepth)) throw unreadable('invalid bit depth or colour type');
      if (data[10] !== 0 || data[11] !== 0 || (data[12] !== 0 && data[12] !== 1)) {
        throw unreadable('invalid compression, filter or interlace method');
      }
      checkDimensions(width, height);
      header = { width, height, colourType };
    } else {
      const critical = type.charCodeAt(0) < 0x61;
      if (critical && !CRITICAL_CHUNKS.has(type)) throw unreadable('unknown critical chunk');
      if (type === 'IHDR') throw unreadable('more than one IHDR chunk');
      if (type === 'PLTE') {
        if (idatState !== 'none' || sawPalette) throw unreadable('misplaced PLTE chunk');
        if (length === 0 || length % 3 !== 0 || length > 768) throw unreadable('invalid PLTE chunk');
        sawPalette = true;
      } else if (type === 'IDAT') {
        if (idatState === 'closed') throw unreadable('IDAT chunks are not contiguous');
        if (header.colourType === 3 && !sawPalette) throw unreadable('palette image without a PLTE chunk');
        idatState = 'open';
      } else if (type === 'IEND') {
        if (length !== 0) throw unreadable('IEND chunk with data');
        if (idatState === 'none') throw unreadable('no image data');
        if (dataEnd + 4 !== bytes.length) throw unreadable('data after the IEND chunk');
        break;
      } else if (type === 'eXIf' && orientation === undefined) {
        orientation = readExifOrientation(data);
      }
      if (previousType === 'IDAT' && type !== 'IDAT') idatState = 'closed';
    }
    previousType = type;
    pos = dataEnd + 4;
  }

  return { codedWidth: header.width, codedHeight: header.height, orientation: orientation ?? 1 };
}
