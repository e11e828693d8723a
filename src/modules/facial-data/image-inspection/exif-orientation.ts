const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;
const MAX_IFD_ENTRIES = 1024;

/**
 * Reads the EXIF orientation (1–8) from a TIFF structure (the body of a JPEG `Exif\0\0` APP1
 * segment after the 6-byte prefix, or of a PNG `eXIf` chunk). Only IFD0 is read. Anything
 * malformed yields 1 (no transformation), the same as decoders that ignore broken EXIF.
 */
export function readExifOrientation(tiff: Buffer): number {
  if (tiff.length < 8) return 1;
  const order = tiff.toString('latin1', 0, 2);
  let little: boolean;
  if (order === 'II') little = true;
  else if (order === 'MM') little = false;
  else return 1;

  const u16 = (at: number): number => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number): number => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));

  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const count = u16(ifd);
  if (count > MAX_IFD_ENTRIES || ifd + 2 + count * 12 > tiff.length) return 1;

  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    if (u16(entry + 2) !== TYPE_SHORT || u32(entry + 4) !== 1) return 1;
    const value = u16(entry + 8);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/** EXIF orientations 5–8 turn the image by 90°: displayed width and height are swapped. */
export function orientationSwapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}
