//! Decoding of the LaTeX accent and letter macros that arXiv metadata uses in names
//! (`Bal\'azs`, `G\"{o}del`, `{\o}ystein`, `\v{S}koda`), into Unicode (NFC).
//!
//! Only text-mode accents and special letters are decoded; math (`$...$`) and any macro not
//! known here are kept as written, because guessing would corrupt titles and formulas.

use unicode_normalization::UnicodeNormalization;

/// The combining character for a one-character accent macro such as `\'`.
fn symbol_accent(c: char) -> Option<char> {
    Some(match c {
        '\'' => '\u{0301}', // acute
        '`' => '\u{0300}',  // grave
        '^' => '\u{0302}',  // circumflex
        '"' => '\u{0308}',  // diaeresis
        '~' => '\u{0303}',  // tilde
        '=' => '\u{0304}',  // macron
        '.' => '\u{0307}',  // dot above
        _ => return None,
    })
}

/// The combining character for a letter accent macro such as `\v`.
fn letter_accent(name: &str) -> Option<char> {
    Some(match name {
        "u" => '\u{0306}', // breve
        "v" => '\u{030C}', // caron
        "H" => '\u{030B}', // double acute
        "c" => '\u{0327}', // cedilla
        "k" => '\u{0328}', // ogonek
        "r" => '\u{030A}', // ring above
        "d" => '\u{0323}', // dot below
        "b" => '\u{0331}', // macron below
        _ => return None,
    })
}

/// Letters written as macros: `\o`, `\ss`, `\ae`, ...
fn special_letter(name: &str) -> Option<&'static str> {
    Some(match name {
        "o" => "ø",
        "O" => "Ø",
        "ss" => "ß",
        "ae" => "æ",
        "AE" => "Æ",
        "oe" => "œ",
        "OE" => "Œ",
        "aa" => "å",
        "AA" => "Å",
        "l" => "ł",
        "L" => "Ł",
        "i" => "ı",
        "j" => "ȷ",
        "dh" => "ð",
        "DH" => "Ð",
        "th" => "þ",
        "TH" => "Þ",
        "ng" => "ŋ",
        "NG" => "Ŋ",
        _ => return None,
    })
}

/// Decodes accent macros and special letters, drops grouping braces around plain text, turns
/// `~` into a space and `\&` into `&`, and returns NFC text. Unknown macros and math stay.
pub fn decode_latex(input: &str) -> String {
    if !input.contains(['\\', '{', '~']) {
        // Nearly every name is NFC already; the quick check costs far less than recomposing.
        if unicode_normalization::is_nfc_quick(input.chars())
            == unicode_normalization::IsNormalized::Yes
        {
            return input.to_string();
        }
        return input.nfc().collect();
    }
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut in_math = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' {
            in_math = !in_math;
            out.push(c);
            i += 1;
            continue;
        }
        if in_math {
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '\\' => {
                if let Some((text, next)) = decode_macro(&chars, i) {
                    out.push_str(&text);
                    i = next;
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            '{' | '}' => {
                // Grouping braces around text carry no meaning once accents are decoded.
                i += 1;
            }
            '~' => {
                out.push(' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.nfc().collect()
}

/// Decodes the macro starting at `chars[start] == '\\'`; returns the text and the index after it.
fn decode_macro(chars: &[char], start: usize) -> Option<(String, usize)> {
    let next = *chars.get(start + 1)?;
    if next == '&' || next == '%' || next == '_' || next == '#' || next == '$' {
        return Some((next.to_string(), start + 2));
    }
    if let Some(mark) = symbol_accent(next) {
        let (base, after) = accent_argument(chars, start + 2)?;
        return Some((format!("{base}{mark}"), after));
    }
    if !next.is_ascii_alphabetic() {
        return None;
    }
    let mut end = start + 1;
    while end < chars.len() && chars[end].is_ascii_alphabetic() {
        end += 1;
    }
    let name: String = chars[start + 1..end].iter().collect();
    if let Some(mark) = letter_accent(&name) {
        let (base, after) = accent_argument(chars, skip_spaces(chars, end))?;
        return Some((format!("{base}{mark}"), after));
    }
    if let Some(letter) = special_letter(&name) {
        // `\o{}` and `\o ` both end the macro; the separator is not text.
        let mut after = end;
        if chars.get(after) == Some(&'{') && chars.get(after + 1) == Some(&'}') {
            after += 2;
        } else if chars.get(after) == Some(&' ') {
            after += 1;
        }
        return Some((letter.to_string(), after));
    }
    None
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    i
}

/// The base letter of an accent: `a`, `{a}`, `{\i}`, `\i`.
fn accent_argument(chars: &[char], i: usize) -> Option<(String, usize)> {
    let i = skip_spaces(chars, i);
    match *chars.get(i)? {
        '{' => {
            let close = chars[i..].iter().position(|&c| c == '}')? + i;
            let inner: String = chars[i + 1..close].iter().collect();
            Some((dotless_base(inner.trim()), close + 1))
        }
        '\\' => {
            let mut end = i + 1;
            while end < chars.len() && chars[end].is_ascii_alphabetic() {
                end += 1;
            }
            let name: String = chars[i + 1..end].iter().collect();
            if name.is_empty() {
                return None;
            }
            // A control word ends at a space or `{}`, which are not text.
            let mut after = end;
            if chars.get(after) == Some(&'{') && chars.get(after + 1) == Some(&'}') {
                after += 2;
            } else if chars.get(after) == Some(&' ') {
                after += 1;
            }
            Some((dotless_base(&format!("\\{name}")), after))
        }
        c if c.is_alphabetic() => Some((c.to_string(), i + 1)),
        _ => None,
    }
}

/// `\i` and `\j` under an accent are plain `i`/`j` once the accent is a combining mark.
fn dotless_base(s: &str) -> String {
    match s {
        "\\i" => "i".to_string(),
        "\\j" => "j".to_string(),
        other => {
            if let Some(name) = other.strip_prefix('\\')
                && let Some(letter) = special_letter(name)
            {
                return letter.to_string();
            }
            other.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_real_names() {
        let cases = [
            ("Bal\\'azs", "Balázs"),
            ("C. Bal\\'azs", "C. Balázs"),
            ("G\\\"{o}del", "Gödel"),
            ("G\\\"odel", "Gödel"),
            ("{\\\"U}ber", "Über"),
            ("Andr\\'{e}", "André"),
            ("Andr{\\'e}", "André"),
            ("\\v{S}koda", "Škoda"),
            ("\\v Skoda", "Škoda"),
            ("Erd\\H{o}s", "Erdős"),
            ("Fran\\c{c}ois", "François"),
            ("Fran\\c cois", "François"),
            ("{\\o}ystein", "øystein"),
            ("\\O{}ystein", "Øystein"),
            ("Stra\\ss e", "Straße"),
            ("\\AA{}ngstr\\\"om", "Ångström"),
            ("Sk\\l odowska", "Skłodowska"),
            ("Mar\\'{\\i}a", "María"),
            ("Mar\\'\\i a", "María"),
            ("Nu\\~{n}ez", "Nuñez"),
            ("J.~Smith", "J. Smith"),
            ("Smith \\& Sons", "Smith & Sons"),
            ("plain name", "plain name"),
            ("$\\alpha$-decay", "$\\alpha$-decay"),
            ("\\unknown{x}", "\\unknownx"),
        ];
        for (input, want) in cases {
            assert_eq!(decode_latex(input), want, "decoding {input:?}");
        }
    }

    #[test]
    fn idempotent_on_decoded_text() {
        for s in ["Balázs", "Gödel", "Škoda", "øystein"] {
            assert_eq!(decode_latex(s), s);
        }
    }

    #[test]
    fn truncated_macro_is_kept() {
        assert_eq!(decode_latex("trailing \\"), "trailing \\");
        assert_eq!(decode_latex("open \\'{a"), "open \\'a");
    }
}
