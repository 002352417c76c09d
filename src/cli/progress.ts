import cliProgress from 'cli-progress';
import type { ProgressReporter } from '../../bench/workloads/workload.js';

/** A progress bar on a terminal; one line per finished step when stderr is not a terminal (CI, pipes). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (stream.isTTY) return barProgress(stream);
  return lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): ProgressReporter {
  const bar = new cliProgress.SingleBar(
    { stream, format: '  {label} [{bar}] {percentage}% | {value}/{total} rows | {duration}s', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (label, total) => bar.start(total, 0, { label: label.padEnd(20) }),
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}

function lineProgress(stream: NodeJS.WriteStream): ProgressReporter {
  let label = '';
  let total = 0;
  let started = 0;
  return {
    start(name, rows) {
      label = name;
      total = rows;
      started = performance.now();
    },
    update() {},
    stop() {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      stream.write(`  loaded ${label}: ${total.toLocaleString('en-US')} rows in ${seconds} s\n`);
    },
  };
}
