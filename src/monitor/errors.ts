import { QoptError } from '../errors.js';

/** An alert rule the monitor cannot evaluate (unknown metric, bad operator or window). */
export class AlertRuleError extends QoptError {
  constructor(message: string) {
    super('ALERT_RULE_INVALID', message);
  }
}

/** pg_stat_statements cannot be read on this server; the message says how to enable it. */
export class PgStatStatementsUnavailableError extends QoptError {
  constructor(message: string) {
    super('PG_STAT_STATEMENTS_UNAVAILABLE', message);
  }
}
