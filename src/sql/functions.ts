/**
 * Function names qopt knows the cache behaviour of. A read calling a function from VOLATILE_FUNCTIONS
 * can return something else on every call; one calling a function in neither list is treated as
 * uncacheable too, because its volatility is unknown (a user function may read anything).
 */
export const VOLATILE_FUNCTIONS: ReadonlySet<string> = new Set([
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday',
  'random', 'random_normal', 'setseed', 'nextval', 'currval', 'lastval', 'setval',
  'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4', 'uuidv4', 'uuidv7',
  'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'txid_current', 'txid_current_if_assigned',
  'pg_current_xact_id', 'pg_notify', 'set_config', 'current_setting', 'pg_advisory_lock',
  'pg_try_advisory_lock', 'pg_advisory_xact_lock', 'pg_try_advisory_xact_lock', 'pg_advisory_unlock',
  'inet_client_addr', 'inet_client_port', 'pg_backend_pid', 'pg_postmaster_start_time',
  'dblink', 'dblink_exec', 'lo_import', 'lo_export', 'pg_read_file', 'pg_ls_dir',
]);

/** Built-in functions whose result depends only on their arguments and the (keyed) role and search_path. */
export const DETERMINISTIC_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg',
  'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'stddev', 'stddev_pop', 'stddev_samp',
  'variance', 'var_pop', 'var_samp', 'percentile_cont', 'percentile_disc', 'mode', 'bit_and', 'bit_or',
  'corr', 'covar_pop', 'covar_samp', 'regr_slope', 'regr_intercept', 'any_value',
  // window functions
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead',
  'first_value', 'last_value', 'nth_value',
  // conditional and comparison
  'coalesce', 'nullif', 'greatest', 'least', 'num_nonnulls', 'num_nulls',
  // strings
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length', 'bit_length',
  'substr', 'substring', 'position', 'strpos', 'trim', 'btrim', 'ltrim', 'rtrim', 'lpad', 'rpad',
  'replace', 'translate', 'concat', 'concat_ws', 'format', 'left', 'right', 'repeat', 'reverse',
  'split_part', 'starts_with', 'md5', 'sha256', 'encode', 'decode', 'regexp_replace', 'regexp_match',
  'regexp_matches', 'regexp_split_to_array', 'regexp_split_to_table', 'regexp_like', 'regexp_count',
  'string_to_array', 'array_to_string', 'to_char', 'to_number', 'quote_ident', 'quote_literal',
  'ascii', 'chr', 'unaccent', 'similarity', 'word_similarity',
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'power', 'pow', 'exp',
  'ln', 'log', 'log10', 'mod', 'div', 'width_bucket', 'scale', 'gcd', 'lcm', 'pi', 'degrees', 'radians',
  // dates (of their arguments; now() and friends are volatile above)
  'date_trunc', 'date_part', 'extract', 'date_bin', 'age', 'make_date', 'make_time', 'make_timestamp',
  'make_timestamptz', 'make_interval', 'to_timestamp', 'to_date', 'justify_days', 'justify_hours',
  'justify_interval', 'isfinite', 'timezone', 'overlaps',
  // json and arrays
  'to_json', 'to_jsonb', 'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array',
  'jsonb_set', 'jsonb_insert', 'jsonb_strip_nulls', 'jsonb_pretty', 'json_typeof', 'jsonb_typeof',
  'jsonb_array_length', 'json_array_length', 'jsonb_each', 'jsonb_each_text', 'json_each', 'json_each_text',
  'jsonb_array_elements', 'jsonb_array_elements_text', 'json_array_elements', 'json_array_elements_text',
  'jsonb_object_keys', 'json_object_keys', 'jsonb_extract_path', 'jsonb_extract_path_text',
  'json_extract_path', 'json_extract_path_text', 'jsonb_path_query', 'jsonb_path_exists',
  'jsonb_path_match', 'row_to_json', 'array_to_json', 'array_length', 'array_lower', 'array_upper',
  'array_position', 'array_positions', 'array_remove', 'array_replace', 'array_append', 'array_prepend',
  'array_cat', 'cardinality', 'unnest', 'generate_series', 'generate_subscripts',
  // types
  'int4', 'int8', 'numeric', 'float8', 'text', 'bool', 'date', 'timestamp', 'timestamptz',
  'pg_typeof', 'current_schema', 'current_schemas', 'current_database',
]);

/** SQLValueFunction operators that read the clock (CURRENT_DATE, CURRENT_TIMESTAMP, …). */
export const CLOCK_VALUE_FUNCTIONS: ReadonlySet<string> = new Set([
  'SVFOP_CURRENT_DATE', 'SVFOP_CURRENT_TIME', 'SVFOP_CURRENT_TIME_N', 'SVFOP_CURRENT_TIMESTAMP',
  'SVFOP_CURRENT_TIMESTAMP_N', 'SVFOP_LOCALTIME', 'SVFOP_LOCALTIME_N', 'SVFOP_LOCALTIMESTAMP',
  'SVFOP_LOCALTIMESTAMP_N',
]);

/** The clock value functions' SQL spelling, for findings a person reads. */
export function clockFunctionName(op: string): string {
  return op.replace(/^SVFOP_/, '').replace(/_N$/, '').toLowerCase();
}
