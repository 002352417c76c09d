import type { DemoSection } from '../section.js';
import { findingsSection } from './findings.js';
import { cacheSection } from './cache.js';
import { queryTableSection } from './queryTable.js';
import { rewritesSection } from './rewrites.js';
import { staticAnalysisSection } from './staticAnalysis.js';

/** The demo report's sections, in order. Each capability adds its own section here as it lands. */
export const demoSections: readonly DemoSection[] = [
  queryTableSection,
  staticAnalysisSection,
  cacheSection,
  findingsSection,
  rewritesSection,
];
