//! Text that a voice engine reads aloud. Incident fields are typed by people and may hold
//! markup: a text-to-speech engine that understands SSML would read `R&D <b>down</b>` as
//! broken markup or act on it. [`spoken`] turns any text into plain words that are safe to
//! put in a spoken prompt.

/// `text` as plain words for a voice prompt, at most `max_chars` characters: `&` becomes
/// "and", markup tags are dropped, other markup characters (`<`, `>`) and control
/// characters are removed, white space is collapsed; a text cut to length ends at a word.
pub fn spoken(text: &str, max_chars: usize) -> String {
    let mut words = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = tag_end(rest)
        {
            words.push(' ');
            rest = &rest[end..];
            continue;
        }
        match c {
            '&' => words.push_str(" and "),
            '<' | '>' => words.push(' '),
            c if c.is_control() => words.push(' '),
            c => words.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    let plain = words.split_whitespace().collect::<Vec<_>>().join(" ");
    cut_at_word(&plain, max_chars)
}

/// Byte index just past a markup tag at the start of `s` (`<b>`, `</speak>`, `<break/>`,
/// `<!-- -->`, `<?xml?>`), if `s` starts with one.
fn tag_end(s: &str) -> Option<usize> {
    let second = s[1..].chars().next()?;
    if !(second.is_ascii_alphabetic() || matches!(second, '/' | '!' | '?')) {
        return None;
    }
    let close = s.find('>')?;
    // A tag does not span a second opening bracket ("<b <i>" drops only "<i>").
    (!s[1..close].contains('<')).then_some(close + 1)
}

/// An incident number read out character by character: "I N C, 0 0 1 0 0 0 5" (the letters,
/// a pause, then each digit), so that a voice engine does not read "ten thousand and five".
pub fn spell(number: &str) -> String {
    let letters: Vec<String> = number
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_string())
        .collect();
    let rest: Vec<String> = number
        .chars()
        .skip(letters.len())
        .map(|c| c.to_string())
        .collect();
    match (letters.is_empty(), rest.is_empty()) {
        (true, _) => rest.join(" "),
        (false, true) => letters.join(" "),
        (false, false) => format!("{}, {}", letters.join(" "), rest.join(" ")),
    }
}

/// Whether [`spoken`] had to cut `text` to `max_chars`.
pub fn is_cut(text: &str, max_chars: usize) -> bool {
    spoken(text, usize::MAX).chars().count() > max_chars
}

fn cut_at_word(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars).collect();
    match cut.rfind(' ') {
        Some(i) if i > 0 => cut[..i].trim_end().to_owned(),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_cut, spell, spoken};

    #[test]
    fn numbers_are_spelled() {
        assert_eq!(spell("INC0010005"), "I N C, 0 0 1 0 0 0 5");
        assert_eq!(spell("123"), "1 2 3");
        assert_eq!(spell("INC"), "I N C");
        assert!(is_cut("database down again", 15));
        assert!(!is_cut("database  down", 13));
    }

    #[test]
    fn ampersands_become_and_and_markup_goes() {
        assert_eq!(spoken("R&D VPN down", 300), "R and D VPN down");
        assert_eq!(spoken("Orders <b>DB</b> down", 300), "Orders DB down");
        assert_eq!(
            spoken("<speak><break time=\"10s\"/>Pay now</speak>", 300),
            "Pay now"
        );
        assert_eq!(
            spoken("latency > 500 ms & rising", 300),
            "latency 500 ms and rising"
        );
        assert_eq!(spoken("a < b and c > d", 300), "a b and c d");
        assert_eq!(spoken("x<5", 300), "x 5");
        assert_eq!(spoken("<!-- x -->ok<?xml version='1.0'?>", 300), "ok");
        assert_eq!(spoken("line one\nline\ttwo\u{0}", 300), "line one line two");
        assert_eq!(spoken("é–漢 &amp; more", 300), "é–漢 and amp; more");
        assert_eq!(spoken("   ", 300), "");
        assert_eq!(spoken("unclosed <tag", 300), "unclosed tag");
    }

    #[test]
    fn a_long_text_ends_at_a_word() {
        assert_eq!(spoken("database down again", 15), "database down");
        assert_eq!(spoken("abcdefghij", 4), "abcd");
        let long = "word ".repeat(100);
        assert!(spoken(&long, 300).chars().count() <= 300);
        assert!(spoken(&long, 300).ends_with("word"));
    }
}
