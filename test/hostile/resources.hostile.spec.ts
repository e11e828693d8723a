import { runCatalogue } from './hostile-runner';
import { RESOURCE_CASES } from './resources.cases';

runCatalogue('hostile input: resources, rights, DPO and audit endpoints', RESOURCE_CASES);
