/**
 * `reference:<system>,<id>` as Suricata's EVE writes it (`alert.references`, detect-reference.c):
 * the system's URL prefix from reference.config followed by the id. Systems come from the
 * reference.config Suricata ships (etc/reference.config); an unknown system gives "<system>://";
 * a `url` reference that names its own scheme ("foobar://…") is written as it is.
 */

/** URL prefixes of Suricata's shipped reference.config, by system (lower case). */
export const REFERENCE_PREFIX: Readonly<Record<string, string>> = {
  cve: 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=',
  nessus: 'https://www.tenable.com/plugins/nessus/',
  url: 'https://',
  mcafee: 'https://vil.nai.com/vil/content/v_',
  bid: 'https://www.securityfocus.com/bid/',
  bugtraq: 'https://www.securityfocus.com/bid/',
  md5: 'https://www.threatexpert.com/report.aspx?md5=',
  secunia: 'https://www.secunia.com/advisories/',
  arachnids: 'https://www.whitehats.com/info/IDS',
};

/** The EVE form of one reference (`system` as written, `id` trimmed). */
export function eveReference(system: string, id: string): string {
  const sys = system.trim().toLowerCase();
  if (sys === 'url' && id.includes('://')) return id;
  return (REFERENCE_PREFIX[sys] ?? `${system.trim()}://`) + id;
}
