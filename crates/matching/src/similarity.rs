//! String similarity used by the comparators: Jaro and Jaro-Winkler on normalised ASCII text,
//! and word overlap for address lines.

/// Jaro similarity in [0, 1]; 1 for identical strings, 0 when either is empty.
pub fn jaro(a: &str, b: &str) -> f64 {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() && b.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    if a == b {
        return 1.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    // Names are short; fixed arrays avoid allocation on the hot path.
    let mut a_matched = [false; 64];
    let mut b_matched = [false; 64];
    let (a, b) = (&a[..a.len().min(64)], &b[..b.len().min(64)]);
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_matched[j] && b[j] == ca {
                a_matched[i] = true;
                b_matched[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_matched[i] {
            while !b_matched[k] {
                k += 1;
            }
            if ca != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let t = (transpositions / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

/// Jaro-Winkler similarity: Jaro boosted by up to four shared leading characters (scale 0.1).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let j = jaro(a, b);
    let prefix = a
        .bytes()
        .zip(b.bytes())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

/// Whether two texts are at most one edit apart, counting an insertion, a deletion, a
/// substitution or a swap of two neighbouring characters as one edit (on bytes): `Some(0)`
/// when equal, `Some(1)` for one edit, `None` for more. Linear, no allocation: it runs on
/// the digits of dates for most compared pairs.
pub fn one_edit_apart(a: &str, b: &str) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return Some(0);
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return None;
    }
    let head = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let (s, l) = (&short[head..], &long[head..]);
        // One substitution, or one swap of neighbours.
        let substituted = s[1..] == l[1..];
        let swapped = s.len() >= 2 && s[0] == l[1] && s[1] == l[0] && s[2..] == l[2..];
        (substituted || swapped).then_some(1)
    } else {
        // One insertion into the shorter text.
        (short[head..] == long[head + 1..]).then_some(1)
    }
}

/// The distinct words of `s`, sorted.
fn distinct_words(s: &str) -> Vec<&str> {
    let mut words: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Share of distinct words in the smaller of the two texts that also occur in the other:
/// shared distinct words over the smaller number of distinct words, so the order of the two
/// texts and repeated words never change the result.
pub fn word_overlap(a: &str, b: &str) -> f64 {
    let (wa, wb) = (distinct_words(a), distinct_words(b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let shared = wa.iter().filter(|w| wb.binary_search(w).is_ok()).count();
    shared as f64 / wa.len().min(wb.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-3
    }

    #[test]
    fn textbook_values() {
        assert!(close(jaro("martha", "marhta"), 0.944));
        assert!(close(jaro_winkler("martha", "marhta"), 0.961));
        assert!(close(jaro_winkler("dwayne", "duane"), 0.840));
        assert!(close(jaro_winkler("dixon", "dicksonx"), 0.813));
        assert_eq!(jaro_winkler("abc", "abc"), 1.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        assert_eq!(jaro_winkler("", "abc"), 0.0);
    }

    #[test]
    fn symmetric() {
        for (a, b) in [("jonathon", "jonathan"), ("smith", "smyth"), ("aa", "aaaa")] {
            assert_eq!(jaro_winkler(a, b), jaro_winkler(b, a));
        }
    }

    #[test]
    fn one_edit_counts_swaps_insertions_and_substitutions() {
        assert_eq!(one_edit_apart("19751402", "19751402"), Some(0));
        assert_eq!(one_edit_apart("19751024", "19751204"), Some(1));
        assert_eq!(one_edit_apart("19751402", "1975142"), Some(1));
        assert_eq!(one_edit_apart("1975142", "19751402"), Some(1));
        assert_eq!(one_edit_apart("19751402", "19751403"), Some(1));
        assert_eq!(one_edit_apart("91751402", "19751402"), Some(1));
        assert_eq!(one_edit_apart("19751402", "19750214"), None);
        assert_eq!(one_edit_apart("19751402", "19751420x"), None);
        assert_eq!(one_edit_apart("", "1"), Some(1));
        assert_eq!(one_edit_apart("", "12"), None);
        assert_eq!(one_edit_apart("12", "21"), Some(1));
        assert_eq!(one_edit_apart("123", "321"), None);
    }

    #[test]
    fn overlap_counts_smaller_side() {
        assert_eq!(word_overlap("12 acre road", "flat 2 12 acre road"), 1.0);
        assert!(close(
            word_overlap("12 acre road", "14 acre lane"),
            1.0 / 3.0
        ));
        assert_eq!(word_overlap("", "x"), 0.0);
    }

    #[test]
    fn overlap_ignores_order_and_repeated_words() {
        // Counting repeats made these 1.0 one way round and 0.5 the other.
        assert_eq!(word_overlap("f f", "f e"), 1.0);
        assert_eq!(word_overlap("f e", "f f"), 1.0);
        for (a, b) in [
            ("2 2 acre road", "2 acre lane"),
            ("flat 1 flat 2", "flat 3"),
        ] {
            assert_eq!(word_overlap(a, b), word_overlap(b, a), "{a} / {b}");
        }
    }
}
