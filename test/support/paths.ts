/** Where the tests find the repository: one definition instead of `path.join(__dirname, '..', ...)` at every depth. */
import * as path from 'path';

/** The repository's root folder. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
