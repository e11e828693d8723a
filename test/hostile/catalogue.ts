/** The whole hostile-input catalogue, for the coverage check. */
import { DEVICE_CASES } from './devices.cases';
import type { HostileCase } from './hostile-runner';
import { IMAGE_UPLOAD_CASES } from './images.cases';
import { RESOURCE_CASES } from './resources.cases';
import { TOKEN_CASES } from './tokens.cases';
import { TRANSPORT_CASES } from './transport.cases';

export const CATALOGUE: readonly HostileCase[] = [...DEVICE_CASES, ...IMAGE_UPLOAD_CASES, ...RESOURCE_CASES, ...TOKEN_CASES, ...TRANSPORT_CASES];
