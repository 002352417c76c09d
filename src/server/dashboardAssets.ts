import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QoptError } from '../errors.js';

/** One static file of the dashboard, read once at start-up. */
export interface StaticAsset {
  path: string;
  contentType: string;
  body: Buffer;
}

const here = dirname(fileURLToPath(import.meta.url));
// From src/server (tsx, vitest) the folder is beside this file; from dist/src/server (the build) it is in the package's src/.
const CANDIDATE_DIRS = [join(here, 'dashboard'), join(here, '..', '..', '..', 'src', 'server', 'dashboard')];

function dashboardDir(): string {
  const dir = CANDIDATE_DIRS.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (!dir) throw new QoptError('DASHBOARD_MISSING', `dashboard files not found (looked in ${CANDIDATE_DIRS.join(', ')})`);
  return dir;
}

// chart.js is a dependency: its UMD build is served as it ships, nothing is bundled at run time.
function chartJsFile(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(entry), 'chart.umd.min.js');
}

/** The dashboard page, its script and style, and Chart.js, keyed by URL path. */
export function loadDashboardAssets(): Map<string, StaticAsset> {
  const dir = dashboardDir();
  const files: Array<[string, string, string]> = [
    ['/', join(dir, 'index.html'), 'text/html; charset=utf-8'],
    ['/dashboard/app.js', join(dir, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/dashboard/app.css', join(dir, 'app.css'), 'text/css; charset=utf-8'],
    ['/dashboard/chart.umd.min.js', chartJsFile(), 'text/javascript; charset=utf-8'],
  ];
  return new Map(files.map(([path, file, contentType]) => [path, { path, contentType, body: readFileSync(file) }]));
}
