import { runCatalogue } from './hostile-runner';
import { TOKEN_CASES } from './tokens.cases';

runCatalogue('hostile input: tokens and roles', TOKEN_CASES);
