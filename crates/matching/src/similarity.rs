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

/// Share of distinct words in the smaller of the two texts that also occur in the other.
pub fn word_overlap(a: &str, b: &str) -> f64 {
    let wa: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let wb: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let (small, large) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    let shared = small.iter().filter(|w| large.contains(w)).count();
    shared as f64 / small.len() as f64
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
    fn overlap_counts_smaller_side() {
        assert_eq!(word_overlap("12 acre road", "flat 2 12 acre road"), 1.0);
        assert!(close(
            word_overlap("12 acre road", "14 acre lane"),
            1.0 / 3.0
        ));
        assert_eq!(word_overlap("", "x"), 0.0);
    }
}
