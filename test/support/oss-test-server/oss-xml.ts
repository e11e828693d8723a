/** Just enough XML for the OSS test server: escaping, error bodies and flat element extraction. */

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function unescapeXml(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    switch (entity) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(
          entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10),
        );
    }
  });
}

/** Inner XML of every `<tag>…</tag>` (same-named elements must not nest, true for the OSS bodies used). */
export function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>|<${tag}(?:\\s[^>]*)?/>`, 'g');
  for (const match of xml.matchAll(pattern)) out.push(match[1] ?? '');
  return out;
}

/** Unescaped text of the first `<tag>` element, or undefined. */
export function text(xml: string, tag: string): string | undefined {
  const [first] = elements(xml, tag);
  return first === undefined ? undefined : unescapeXml(first.trim());
}

/** `<Name>value</Name>` with the value escaped; nothing for undefined. */
export function el(name: string, value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function errorXml(code: string, message: string, requestId: string, hostId: string, extra: Record<string, string> = {}): string {
  const details = Object.entries(extra)
    .map(([name, value]) => el(name, value))
    .join('\n  ');
  return (
    `${XML_DECLARATION}<Error>\n  ${el('Code', code)}\n  ${el('Message', message)}\n  ${el('RequestId', requestId)}\n  ` +
    `${el('HostId', hostId)}${details ? `\n  ${details}` : ''}\n</Error>\n`
  );
}
