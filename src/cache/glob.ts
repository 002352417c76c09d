/** A glob (`*` any run, `?` one character, `\\` escapes) as an anchored, case-insensitive regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '\\' && i + 1 < glob.length) source += glob[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  // Case-insensitive: keys hold lower-cased SQL; matching more keys than meant only drops more entries.
  return new RegExp(`^${source}$`, 'i');
}

/** The same glob as a case-insensitive Redis MATCH pattern (letters become `[aA]`, Redis's own specials are escaped). */
export function redisGlobOf(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '\\' && i + 1 < glob.length) out += escapeRedis(glob[++i]!);
    else if (char === '*' || char === '?') out += char;
    else if (char.toLowerCase() !== char.toUpperCase()) out += `[${char.toLowerCase()}${char.toUpperCase()}]`;
    else out += escapeRedis(char);
  }
  return out;
}

function escapeRedis(char: string): string {
  return /[*?[\]\\^-]/.test(char) ? `\\${char}` : char;
}
