import type { DemoSection } from '../section.js';
import { executorBatchingSection } from './executorBatching.js';
import { queryTableSection } from './queryTable.js';
import { staticAnalysisSection } from './staticAnalysis.js';

/** The demo report's sections, in order. Each capability adds its own section here as it lands. */
export const demoSections: readonly DemoSection[] = [queryTableSection, staticAnalysisSection, executorBatchingSection];
