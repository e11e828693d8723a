import { runCatalogue } from './hostile-runner';
import { IMAGE_UPLOAD_CASES } from './images.cases';

runCatalogue('hostile input: image uploads', IMAGE_UPLOAD_CASES);
