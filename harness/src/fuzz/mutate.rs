//! Mutations: how one input is made from the seeds. Byte-level (flips, inserts, deletes,
//! truncation), line-level (delete, duplicate, swap, splice lines from another seed), and
//! aware of what parsers trip on (numbers replaced by extremes, UTF-8 edge cases, very long
//! lines, the format's own tokens). No coverage feedback: the seeds are real inputs and the
//! mutations stay close to them, which is where a reader's assumptions live.

use std::ops::Range;

use super::rng::Rng;

/// No input grows past this: a reader's cost is linear in its input, and a huge input only
/// slows the search down.
pub const MAX_INPUT: usize = 1 << 20;

/// Numbers a parser may not expect: zero, signs, the edges of every integer width, floats
/// that overflow or are not numbers, and digit strings too long for any integer.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-0",
    b"-1",
    b"1",
    b"00000000000000000000",
    b"127",
    b"255",
    b"256",
    b"65535",
    b"4294967295",
    b"4294967296",
    b"-2147483649",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999999999999999999",
    b"1e308",
    b"-1e308",
    b"1e300",
    b"-1e300",
    b"9.3e15",
    b"-9.3e15",
    b"1e309",
    b"-1e309",
    b"1.7976931348623157e308",
    b"4.9e-324",
    b"0.0000001",
    b"0.9999999",
    b"999999999999.999",
    b"NaN",
    b"nan",
    b"inf",
    b"-inf",
    b"Infinity",
    b".inf",
    b"1.",
    b".5",
    b"1..2",
    b"0x7fffffff",
    b"+",
    b"-",
    b"",
];

/// Bytes and sequences that break assumptions about text: NUL, CR, a BOM, a lone
/// continuation byte, an overlong encoding, an encoded surrogate, the largest code point,
/// a code point past it, multi-byte characters (which a cut may split), combining and
/// right-to-left marks, and a 4-byte emoji.
const UTF8_EDGES: &[&[u8]] = &[
    b"\0",
    b"\r",
    b"\r\n",
    b"\t",
    b"\x0b\x0c",
    b"\xef\xbb\xbf",
    b"\x80",
    b"\xbf",
    b"\xc0\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xff\xfe",
    "é".as_bytes(),
    "ß".as_bytes(),
    "€".as_bytes(),
    "\u{0301}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{85}".as_bytes(),
    "\u{a0}".as_bytes(),
    "𝕏".as_bytes(),
    "🦀".as_bytes(),
    "…".as_bytes(),
];

/// Single bytes worth writing over another.
const BYTES: &[u8] = b"\0\n\r\t \"'\\/:;,.-+=<>[]{}()&#*!?|%@0123456789aZ\x7f\x80\xc3\xff";

/// What a separator may become.
const WHITESPACE: &[&[u8]] = &[b" ", b"\t", b"\n", b"\r\n", b"", b"  ", b"\n\n", b"\x0b"];

/// Tokens of every format the readers take, beside the ones harvested from the seeds.
pub const COMMON_TOKENS: &[&[u8]] = &[
    b"\n", b"\r\n", b" ", b"  ", b": ", b":", b"\"", b"'", b"\\", b"{", b"}", b"[", b"]", b"<", b">", b"/>", b"=",
    b"=>", b"->", b",", b"-- ", b"#", b"%s", b"\\u0000", b"null", b"true", b"false",
];

/// One input from the seeds: a seed of a group drawn evenly (or a window of its lines), then
/// a few stacked mutations. `groups` are non-empty ranges of `seeds`; `donors` are every
/// format's seeds, for splicing; `tokens` the format's words.
pub fn generate(
    rng: &mut Rng,
    seeds: &[Vec<u8>],
    groups: &[Range<usize>],
    donors: &[Vec<u8>],
    tokens: &[Vec<u8>],
    windows: bool,
) -> Vec<u8> {
    let group = rng.pick(groups).clone();
    let seed = &seeds[rng.range(group.start, group.end - 1)];
    let mut input = if windows && rng.one_in(2) { window(rng, seed) } else { seed.clone() };
    // Mostly one or two mutations: inputs close to a real one get past the first checks.
    let mut n = 1;
    while n < 16 && rng.one_in(2) {
        n += 1;
    }
    for _ in 0..n {
        mutate(rng, &mut input, seeds, donors, tokens);
    }
    input.truncate(MAX_INPUT);
    input
}

/// A run of 1–64 consecutive lines of `seed`: small inputs for line-oriented readers.
fn window(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let starts = line_starts(seed);
    let first = rng.below(starts.len());
    let last = (first + rng.range(1, 64)).min(starts.len());
    let end = starts.get(last).copied().unwrap_or(seed.len());
    seed[starts[first]..end].to_vec()
}

/// Where each line begins (always at least one: 0).
fn line_starts(b: &[u8]) -> Vec<usize> {
    std::iter::once(0).chain(memchr::memchr_iter(b'\n', b).map(|i| i + 1).filter(|&i| i < b.len())).collect()
}

/// The byte range of line `i`, its newline included.
fn line_range(b: &[u8], starts: &[usize], i: usize) -> std::ops::Range<usize> {
    starts[i]..starts.get(i + 1).copied().unwrap_or(b.len())
}

/// A random line of a random seed of `pool` (empty when the pool is).
fn any_line<'a>(rng: &mut Rng, pool: &'a [Vec<u8>]) -> &'a [u8] {
    if pool.is_empty() {
        return b"";
    }
    let s = rng.pick(pool);
    let starts = line_starts(s);
    let i = rng.below(starts.len());
    &s[line_range(s, &starts, i)]
}

/// The first byte at or after `from` (wrapping round to the start) that `is` accepts.
fn next_from(b: &[u8], from: usize, is: impl Fn(u8) -> bool) -> Option<usize> {
    let from = from.min(b.len());
    b[from..].iter().position(|&c| is(c)).map(|i| from + i).or_else(|| b[..from].iter().position(|&c| is(c)))
}

fn token<'a>(rng: &mut Rng, tokens: &'a [Vec<u8>]) -> &'a [u8] {
    if !tokens.is_empty() && !rng.one_in(4) {
        return &tokens[rng.below(tokens.len())];
    }
    COMMON_TOKENS[rng.below(COMMON_TOKENS.len())]
}

/// One mutation in place. `seeds` are this format's (for splicing; may be empty), `donors`
/// every format's.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>], donors: &[Vec<u8>], tokens: &[Vec<u8>]) {
    let len = input.len();
    let pos = rng.below(len + 1);
    match rng.below(20) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(BYTES);
        }
        2 => {
            let n = rng.range(1, 8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            input.splice(pos..pos, bytes);
        }
        3 if len > 0 => {
            let at = pos.min(len - 1);
            let n = rng.range(1, 64.min(len - at));
            input.drain(at..at + n);
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = rng.range(1, 64).min(len - at);
            let copy = input[at..at + n].to_vec();
            let to = rng.below(len + 1);
            input.splice(to..to, copy);
        }
        5 => {
            let starts = line_starts(input);
            let r = line_range(input, &starts, rng.below(starts.len()));
            input.drain(r);
        }
        6 => {
            let starts = line_starts(input);
            let r = line_range(input, &starts, rng.below(starts.len()));
            let times = if rng.one_in(8) { rng.range(1, 200) } else { rng.range(1, 4) };
            let line = input[r.clone()].to_vec();
            let copies: Vec<u8> = line.iter().copied().cycle().take(line.len() * times).collect();
            input.splice(r.start..r.start, copies);
        }
        7 => {
            let starts = line_starts(input);
            let (a, b) = (rng.below(starts.len()), rng.below(starts.len()));
            let (a, b) = (a.min(b), a.max(b));
            if a != b {
                let (ra, rb) = (line_range(input, &starts, a), line_range(input, &starts, b));
                let (la, lb) = (input[ra.clone()].to_vec(), input[rb.clone()].to_vec());
                input.splice(rb, la);
                input.splice(ra, lb);
            }
        }
        8 | 9 => {
            // A line of another seed, over one of this input or between two; mostly from this
            // format's seeds, sometimes from any other format's.
            let pool = if rng.one_in(8) { donors } else { seeds };
            let line = any_line(rng, pool).to_vec();
            let starts = line_starts(input);
            let r = line_range(input, &starts, rng.below(starts.len()));
            if rng.one_in(2) {
                input.splice(r, line);
            } else {
                input.splice(r.start..r.start, line);
            }
        }
        10 => {
            // The head of this input and the tail of another seed.
            let pool = if rng.one_in(8) && !donors.is_empty() { donors } else { seeds };
            if pool.is_empty() {
                return;
            }
            let other = rng.pick(pool);
            let from = rng.below(other.len() + 1);
            input.truncate(pos);
            input.extend_from_slice(&other[from..]);
        }
        11 => input.truncate(pos),
        12 | 13 => {
            // A number (digits, with sign, point or exponent around them) by an extreme.
            let start = next_from(input, pos, |b| b.is_ascii_digit()).unwrap_or(pos);
            let is_num = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-');
            let mut s = start;
            while s > 0 && is_num(input[s - 1]) {
                s -= 1;
            }
            let mut e = start;
            while e < input.len() && is_num(input[e]) {
                e += 1;
            }
            let with = rng.pick(NUMBERS).to_vec();
            input.splice(s..e, with);
        }
        14 => {
            let edge = rng.pick(UTF8_EDGES).to_vec();
            input.splice(pos..pos, edge);
        }
        15 if rng.one_in(4) => {
            // A very long line: one byte or one token many times, somewhere in the input.
            let unit: Vec<u8> = if rng.one_in(2) { vec![*rng.pick(BYTES)] } else { token(rng, tokens).to_vec() };
            let want = rng.range(1_000, 70_000);
            let times = (want / unit.len().max(1)).max(1);
            let run: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * times).collect();
            input.splice(pos..pos, run);
        }
        16 | 17 => {
            let t = token(rng, tokens).to_vec();
            input.splice(pos..pos, t);
        }
        18 if len > 0 => {
            // A word of the input (letters, digits, `-`, `_`) by a token.
            let at = rng.below(len);
            let word = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
            let (mut s, mut e) = (at, at);
            while s > 0 && word(input[s - 1]) {
                s -= 1;
            }
            while e < len && word(input[e]) {
                e += 1;
            }
            let t = token(rng, tokens).to_vec();
            input.splice(s..e, t);
        }
        _ => {
            // Whitespace changes its kind: the separators readers split on.
            if let Some(at) = next_from(input, pos, |b| matches!(b, b' ' | b'\t' | b'\n')) {
                let with = *rng.pick(WHITESPACE);
                input.splice(at..at + 1, with.iter().copied());
            }
        }
    }
}

/// The words of the seeds (runs of letters, digits, `-`, `_`, `.`, `/`, 2–40 bytes), for
/// token mutations: key names, daemon names, states, element and attribute names.
pub fn harvest_tokens(seeds: &[Vec<u8>], extra: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut set = std::collections::BTreeSet::new();
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/');
    for s in seeds {
        for w in s.split(|b| !word(b)) {
            if (2..=40).contains(&w.len()) && !w.iter().all(u8::is_ascii_digit) {
                set.insert(w.to_vec());
            }
        }
    }
    set.extend(extra.iter().map(|t| t.to_vec()));
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_within_bounds_on_every_shape_of_input() {
        let seeds = vec![b"a: 1\nb: 22\n".to_vec(), Vec::new(), b"x".to_vec(), b"\n\n\n".to_vec()];
        let tokens = harvest_tokens(&seeds, &[b"<a/>"]);
        for i in 0..20_000 {
            let mut rng = Rng::for_input(3, 0, i);
            let input = generate(&mut rng, &seeds, &[0..2, 2..4], &seeds, &tokens, i % 2 == 0);
            assert!(input.len() <= MAX_INPUT);
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let seeds = vec![b"info 1 node1/crm: status change startup => wait_for_quorum\n".to_vec()];
        let groups = std::slice::from_ref(&(0..1));
        let a = generate(&mut Rng::for_input(9, 1, 5), &seeds, groups, &seeds, &[], true);
        let b = generate(&mut Rng::for_input(9, 1, 5), &seeds, groups, &seeds, &[], true);
        assert_eq!(a, b);
    }

    #[test]
    fn tokens_are_words_of_the_seeds() {
        let t = harvest_tokens(&[b"<node name=\"node1\" online=\"true\"/> 12345".to_vec()], &[]);
        assert!(t.contains(&b"node1".to_vec()) && t.contains(&b"online".to_vec()));
        assert!(!t.contains(&b"12345".to_vec()));
    }
}
