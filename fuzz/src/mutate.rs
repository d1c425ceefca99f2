//! Seeded structure-aware mutations of text inputs: the values that break parsers (NaN,
//! infinities, huge and negative numbers, integer limits, a byte-order mark, quotes, brackets,
//! very long lines) put where values are, plus byte flips, cuts, duplications and splices.

use planetgym_env::rng::Rng;

/// Tokens that have broken (or would break) a parser somewhere.
const TOKENS: &[&str] = &[
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e-320",
    "-1",
    "0",
    "-0",
    "1e21",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "2147483648",
    "0.5",
    "\u{feff}",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    ",",
    ";",
    "[",
    "]",
    "{",
    "}",
    ":",
    "=",
    "null",
    "true",
    "false",
    "\\",
    "\u{0}",
    "é",
    "\u{10ffff}",
];

/// Largest input a mutation may produce: enough for long-line cases, small enough for many
/// executions per second under the CI memory limit.
pub const MAX_INPUT: usize = 4 << 20;

/// `seed` mutated 1 to 4 times (`other` is a second corpus entry for splices).
pub fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        step(&mut data, other, rng);
        data.truncate(MAX_INPUT);
    }
    data
}

fn step(data: &mut Vec<u8>, other: &[u8], rng: &mut Rng) {
    let len = data.len();
    let at = |rng: &mut Rng| rng.below(len + 1);
    match rng.below(10) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            let i = at(rng);
            data.splice(i..i, token.bytes());
        }
        2 | 3 => replace_number(data, rng),
        4 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            data.drain(start..end);
        }
        5 if len > 0 => {
            // A stretch repeated many times: long lines, long lists, many records.
            let start = rng.below(len);
            let end = (start + 1 + rng.below(256)).min(len);
            let piece = data[start..end].to_vec();
            let most = if rng.below(8) == 0 { 20_000 } else { 16 };
            let times = 1 + rng.below(most);
            let repeated: Vec<u8> = piece
                .iter()
                .copied()
                .cycle()
                .take(piece.len() * times)
                .collect();
            data.splice(end..end, repeated);
        }
        6 => data.truncate(at(rng)),
        7 if !other.is_empty() => {
            let cut = at(rng);
            let from = rng.below(other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        8 => swap_lines(data, rng),
        _ => {
            let i = at(rng);
            data.insert(
                i,
                [0u8, 0xff, b'\n', b',', b' ', b'-', b'9', b'.'][rng.below(8)],
            );
        }
    }
}

/// Replaces one run of digits (with its sign, point and exponent) by a token.
fn replace_number(data: &mut Vec<u8>, rng: &mut Rng) {
    let starts: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let start = starts[rng.below(starts.len())];
    let numeric = |b: u8| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-');
    let end = (start..data.len())
        .find(|&i| !numeric(data[i]))
        .unwrap_or(data.len());
    let token = TOKENS[rng.below(17)];
    data.splice(start..end, token.bytes());
}

fn swap_lines(data: &mut Vec<u8>, rng: &mut Rng) {
    let text = String::from_utf8_lossy(data).into_owned();
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.len() < 2 {
        return;
    }
    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
    lines.swap(a, b);
    *data = lines.join("\n").into_bytes();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_seeded_and_bounded() {
        let seed = b"a,b\n1,2.5\n3,4\n";
        let run = |s: u64| {
            let mut rng = Rng::new(s);
            (0..200)
                .map(|_| mutate(seed, b"x,y\n", &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert!(run(3).iter().all(|m| m.len() <= MAX_INPUT));
        assert!(
            run(4)
                .iter()
                .any(|m| m.windows(3).any(|w| w == b"nan" || w == b"inf"))
        );
    }
}
