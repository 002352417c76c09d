import { textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

/** The analyzer's anti-pattern and plan findings for each of the workload's queries. */
export const findingsSection: DemoSection = {
  id: 'findings',
  title: 'Findings: anti-patterns and plan problems',
  async render({ qo, workload, exampleParams }) {
    const data = [];
    for (const query of workload.queries) {
      const report = await qo.findings(query.sql, exampleParams.get(query.name) ?? [], { analyze: true });
      data.push({
        name: query.name,
        findings: report.findings.map(({ rule, severity, detail, fix }) => ({ rule, severity, detail, fix })),
        plan: report.plan,
      });
    }
    const rows = data.flatMap((entry) => [
      ...entry.findings.map((finding) => [entry.name, finding.severity, finding.rule, finding.detail]),
      ...(entry.plan?.findings ?? []).map((finding) => [entry.name, 'plan', finding.id, `${finding.node}: ${finding.detail}`]),
    ]);
    if (rows.length === 0) return null;
    return { text: textTable(['query', 'severity', 'finding', 'detail'], rows, new Set([0, 1, 2, 3])), data };
  },
};
