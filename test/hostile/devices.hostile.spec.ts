import { DEVICE_CASES } from './devices.cases';
import { runCatalogue } from './hostile-runner';

runCatalogue('hostile input: device registration and sign-in', DEVICE_CASES);
