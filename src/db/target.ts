/** A connection string fit to print: the password replaced by `***`. */
export function redactTarget(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
  }
}
