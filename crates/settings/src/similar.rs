//! Near misses: the edit distance between words and the "did you mean" text built
//! from the nearest candidates. Knows nothing of the keys; `keys` and `parse`
//! bring the candidates.

use crate::choices::list_or;

/// Edit distances ("did you mean") are computed only for words up to this many
/// characters: every known key, section and choice is shorter, and longer words
/// would cost time proportional to their length for no suggestion.
const MAX_SUGGEST_CHARS: usize = 40;

/// Edit distance (optimal string alignment: insertions, deletions, substitutions
/// and swaps of neighbours), ASCII case-insensitive; `None` when either word is
/// longer than [`MAX_SUGGEST_CHARS`] (no allocation, bounded work).
#[cfg(test)]
pub(crate) fn distance(a: &str, b: &str) -> Option<usize> {
    distance_within(a, b, usize::MAX)
}

/// [`distance`] when it is at most `limit`, else `None`; stops as soon as every
/// cell of a row exceeds `limit` (row minima never decrease).
fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    const N: usize = MAX_SUGGEST_CHARS + 1;
    let chars = |word: &str| -> Option<([char; N], usize)> {
        let mut out = ['\0'; N];
        let mut len = 0;
        for c in word.chars() {
            *out.get_mut(len)? = c.to_ascii_lowercase();
            len += 1;
        }
        (len < N).then_some((out, len))
    };
    let (a, a_len) = chars(a)?;
    let (b, b_len) = chars(b)?;
    let (a, b) = (&a[..a_len], &b[..b_len]);
    // Rows i, i - 1 and i - 2 of the table d[i][j] (the distance between a[..i]
    // and b[..j]) are rows[i % 3], rows[(i + 2) % 3] and rows[(i + 1) % 3].
    let mut rows = [[0usize; N]; 3];
    for (j, cell) in rows[0].iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let [row, up, two_up] = [i % 3, (i + 2) % 3, (i + 1) % 3];
        rows[row][0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[up][j] + 1)
                .min(rows[row][j - 1] + 1)
                .min(rows[up][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[two_up][j - 2] + 1);
            }
            rows[row][j] = best;
            row_min = row_min.min(best);
        }
        if row_min > limit {
            return None;
        }
    }
    Some(rows[a.len() % 3][b.len()]).filter(|d| *d <= limit)
}

/// The candidate nearest to `word` within distance 2, if any.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    // A word longer than the limit in bytes is longer in characters too.
    if word.len() > 4 * MAX_SUGGEST_CHARS {
        return None;
    }
    let chars = word.chars().count();
    candidates
        // The distance is at least the difference in length (candidates are ASCII).
        .filter(|c| c.len().abs_diff(chars) <= 2)
        .filter_map(|c| Some((distance_within(word, c, 2)?, c)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "; did you mean `a`?", "; did you mean `a` or `b`?" (with `where_` after each
/// key), or nothing without candidates.
pub(crate) fn did_you_mean_text(keys: &[&str], where_: impl Fn(&str) -> String) -> String {
    if keys.is_empty() {
        return String::new();
    }
    let each: Vec<String> = keys.iter().map(|k| format!("`{k}`{}", where_(k))).collect();
    format!(
        "; did you mean {}?",
        list_or(each.iter().map(String::as_str))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("mode", "mode"), Some(0));
        assert_eq!(distance("mod", "mode"), Some(1));
        assert_eq!(distance("mdoe", "mode"), Some(1));
        assert_eq!(distance("schedulling", "scheduling"), Some(1));
        assert_eq!(distance("", "abc"), Some(3));
        assert_eq!(distance("Level", "level"), Some(0));
        assert_eq!(distance("kitten", "sitting"), Some(3));
        assert_eq!(distance("ca", "abc"), Some(3));
        let longest = "x".repeat(MAX_SUGGEST_CHARS);
        assert_eq!(distance(&longest, &longest), Some(0));
        assert_eq!(distance(&format!("{longest}y"), "mode"), None);
        assert_eq!(distance("mode", &format!("{longest}y")), None);
        assert_eq!(distance_within("kitten", "sitting", 3), Some(3));
        assert_eq!(distance_within("kitten", "sitting", 2), None);
        assert_eq!(distance_within("abcdef", "zzzzzz", 2), None);
        assert_eq!(distance_within("mdoe", "mode", 2), Some(1));
    }
}
