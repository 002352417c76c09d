import type { SqlToken } from './parser.js';

// Tokens whose text is case-sensitive or is a literal value; everything else is case-folded like PostgreSQL does.
const LITERAL_TOKENS = new Set(['SCONST', 'USCONST', 'BCONST', 'XCONST', 'ICONST', 'FCONST', 'PARAM']);
const CONSTANT_TOKENS = new Set(['SCONST', 'USCONST', 'BCONST', 'XCONST', 'ICONST', 'FCONST']);

/**
 * The statement as a canonical token string: comments and whitespace dropped, keywords and
 * unquoted identifiers lower-cased, every constant kept verbatim. Two texts with the same
 * canonical form run the same statement, which makes it (unlike the fingerprint) a safe part of a
 * cache key: it keeps LIMIT/OFFSET and every constant.
 */
export function canonicalText(tokens: readonly SqlToken[]): string {
  return tokens.map(canonicalToken).join(' ');
}

/** The literal constants of the statement in text order (what `normalize()` replaces by `$n`). */
export function constantsOf(tokens: readonly SqlToken[]): string[] {
  return tokens.filter((token) => CONSTANT_TOKENS.has(token.tokenName)).map((token) => token.text);
}

function canonicalToken(token: SqlToken): string {
  if (LITERAL_TOKENS.has(token.tokenName)) return token.text;
  if (token.text.startsWith('"') || token.text.startsWith('$') || token.text.startsWith("'")) return token.text;
  if (/^[eEuUbBxXnN]&?'/.test(token.text)) return token.text;
  return token.text.toLowerCase();
}
