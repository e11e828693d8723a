import { runCatalogue } from './hostile-runner';
import { TRANSPORT_CASES } from './transport.cases';

runCatalogue('hostile input: HTTP transport, limits and media types', TRANSPORT_CASES);
