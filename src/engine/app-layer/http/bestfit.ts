/**
 * Best-fit mapping of Unicode code points U+0100..U+FFFF to one byte, as libhtp's default map
 * (Windows-1252 best fit) used for %u decoding and UTF-8 path decoding with Suricata's IDS
 * personality. Unmapped code points become the replacement byte '?'. Stored here grouped by
 * the byte they map to (code points in hex); the fullwidth ASCII block U+FF01..U+FF5E maps to
 * U+0021..U+007E and is computed.
 */
const BY_TARGET: Record<string, string> = {
  " ": '2000 2001 2002 2003 2004 2005 2006 3000',
  "!": '1c3',
  "\"": '2ba 30e',
  "%": '66a',
  "'": '2b9 2bc 2c8 2032',
  "(": '2320',
  ")": '2321',
  "*": '2217',
  "+": '250c 2510 2514 2518 251c 253c 2552 2553 2554 2555 2556 2557 2558 2559 255a 255b 255c 255d 256a 256b 256c',
  "-": '2010 2011 2212 2500 252c 2534 2550 2564 2565 2566 2567 2568 2569',
  "/": '2044 2215',
  "0": '2080',
  "1": '2081',
  "2": '2082',
  "3": '2083',
  "4": '2074 2084',
  "5": '2075 2085',
  "6": '2076 2086',
  "7": '2077 2087',
  "8": '2078 2088 221e',
  "9": '2089',
  ":": '589 2236',
  ";": '37e',
  "<": '2329 3008',
  "=": '2017 2261 2264 2265',
  ">": '232a 3009',
  "A": '100 102 104 1cd 1de',
  "B": '212c',
  "C": '106 108 10a 10c 2102 212d',
  "D": '10e',
  "E": '112 114 116 118 11a 2107 2130',
  "F": '3a6 2131',
  "G": '11c 11e 120 122 1e4 1e6 393',
  "H": '124 126 210b 210c 210d',
  "I": '128 12a 12c 12e 130 197 1cf 2110 2111',
  "J": '134',
  "K": '136 1e8 212a',
  "L": '139 13b 13d 141 2112',
  "M": '2133',
  "N": '143 145 147 2115',
  "O": '14c 14e 150 19f 1a0 1d1 1ea 1ec 3a9',
  "P": '20a7 2118 2119',
  "Q": '211a',
  "R": '154 156 158 211b 211c 211d',
  "S": '15a 15c 15e 3a3',
  "T": '162 164 166 1ae 398',
  "U": '168 16a 16c 16e 170 172 1af 1d3 1d5 1d7 1d9 1db',
  "W": '174',
  "Y": '176',
  "Z": '179 17b 2124 2128',
  "[": '301a',
  "\\": '2216',
  "]": '301b',
  "^": '2c4 302 2303',
  "_": '2cd 331 332 2584',
  "`": '2cb 300 2035',
  "a": '101 103 105 1ce 1df 3b1',
  "b": '180',
  "c": '107 109 10b 10d',
  "d": '10f 111 3b4',
  "e": '113 115 117 119 11b 3b5 212e 212f',
  "f": '3c6',
  "g": '11d 11f 121 123 1e5 1e7 261 210a',
  "h": '125 127 4bb 210e',
  "i": '129 12b 12d 12f 131 1d0',
  "j": '135 1f0',
  "k": '137 1e9',
  "l": '13a 13c 13e 142 19a 2113',
  "n": '144 146 148 207f 2229',
  "o": '14d 14f 151 1a1 1d2 1eb 1ed 2134',
  "p": '3c0',
  "r": '155 157 159',
  "s": '15b 15d 15f 3c3',
  "t": '163 165 167 1ab 3c4',
  "u": '169 16b 16d 16f 171 173 1b0 1d4 1d6 1d8 1da 1dc',
  "v": '221a',
  "w": '175',
  "y": '177',
  "z": '17c 1b6',
  "|": '1c0 2223 2758',
  "~": '303 223c',
};

const MAP = new Map<number, number>();
for (const [target, cps] of Object.entries(BY_TARGET)) {
  const byte = target.charCodeAt(0);
  for (const hex of cps.split(' ')) MAP.set(parseInt(hex, 16), byte);
}
for (let cp = 0xff01; cp <= 0xff5e; cp++) MAP.set(cp, cp - 0xfee0);

/** libhtp's default best-fit replacement byte. */
export const BESTFIT_REPLACEMENT = 0x3f;

/** Best-fit byte for a code point (< 0x100 maps to itself; > 0xffff to the replacement). */
export function bestfit(codepoint: number): number {
  if (codepoint < 0x100) return codepoint;
  if (codepoint > 0xffff) return BESTFIT_REPLACEMENT;
  return MAP.get(codepoint) ?? BESTFIT_REPLACEMENT;
}
