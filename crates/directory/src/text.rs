//! Neutralising HTML and script in imported or edited text: tags are stripped to plain text.
//! The web layer escapes output as well; this keeps markup out of the stored data and the feed.

/// Strips HTML tags, comments and the contents of `<script>`/`<style>` elements, removes
/// control characters (keeping newlines and tabs) and trims. Idempotent: applying it twice
/// gives the same text, which keeps export → import → export byte-identical.
pub fn neutralise(input: &str) -> String {
    let mut cur = clean_once(input);
    // Removing one tag can join two fragments into a new tag (`<<b>script>`), so repeat until
    // nothing changes; each pass only shrinks the text, so this terminates.
    loop {
        let next = clean_once(&cur);
        if next == cur {
            return cur;
        }
        cur = next;
    }
}

fn starts_with_ci(hay: &str, needle: &str) -> bool {
    hay.len() >= needle.len()
        && hay.as_bytes()[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn clean_once(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let next = tail[1..].chars().next();
        let is_tag =
            matches!(next, Some(c) if c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !is_tag {
            // A lone `<` (as in "under < 18") is ordinary text.
            out.push('<');
            rest = &tail[1..];
            continue;
        }
        if starts_with_ci(tail, "<!--") {
            rest = match tail.find("-->") {
                Some(end) => &tail[end + 3..],
                None => "",
            };
            continue;
        }
        let mut skipped = false;
        for element in ["script", "style"] {
            let open = format!("<{element}");
            if starts_with_ci(tail, &open) {
                let close = format!("</{element}");
                rest = match find_ci(tail, &close) {
                    Some(end) => {
                        let after = &tail[end..];
                        match after.find('>') {
                            Some(gt) => &after[gt + 1..],
                            None => "",
                        }
                    }
                    None => "",
                };
                skipped = true;
                break;
            }
        }
        if skipped {
            continue;
        }
        rest = match tail.find('>') {
            Some(gt) => &tail[gt + 1..],
            // An unclosed tag runs to the end of the text; drop it rather than guess.
            None => "",
        };
    }
    out.push_str(rest);
    let filtered: String = out
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    filtered.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn strips_tags_and_scripts() {
        assert_eq!(neutralise("<b>Free</b> advice"), "Free advice");
        assert_eq!(
            neutralise("Help<script>alert('x')</script> now"),
            "Help now"
        );
        assert_eq!(neutralise("a<STYLE>p{}</STYLE>b"), "ab");
        assert_eq!(neutralise("x <!-- hidden --> y"), "x  y");
        // Stripping `<b>` forms a script element, which the next pass removes whole.
        assert_eq!(neutralise("<<b>script>alert(1)<</b>/script>"), "");
        assert_eq!(neutralise("<img src=x onerror=alert(1)"), "");
    }

    #[test]
    fn keeps_plain_text() {
        assert_eq!(neutralise("Ages < 18 & carers"), "Ages < 18 & carers");
        assert_eq!(neutralise("  line one\nline two  "), "line one\nline two");
        assert_eq!(neutralise("bell\u{7}"), "bell");
    }
}
