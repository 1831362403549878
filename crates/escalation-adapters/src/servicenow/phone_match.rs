//! Matching a free-text phone field of a ServiceNow user ("+1 858 867 7857", "(858)
//! 867-7857", "020 7183 8750") against an E.164 number.

use escalation_core::model::E164;
use escalation_core::model::phone::digits;

/// The E.164 numbers a free-text phone field can stand for: `+` or `00` international
/// forms as written; a national number with `default_country_code` (a leading trunk `0`
/// dropped, e.g. UK "020 7183 8750" → +442071838750); an extension ("x123", "ext. 123")
/// is ignored. Empty if nothing plausible.
pub fn phone_candidates(stored: &str, default_country_code: Option<&str>) -> Vec<String> {
    let lower = stored.to_ascii_lowercase();
    let main = ["ext", "x", "#", ";", ","]
        .iter()
        .filter_map(|sep| lower.find(sep))
        .min()
        .map_or(lower.as_str(), |i| &lower[..i]);
    // "+44 (0)20 ..." writes the trunk prefix inside an international number: drop it.
    let main = main.replace("(0)", "");
    let start = main
        .find(|c: char| c == '+' || c.is_ascii_digit())
        .unwrap_or(main.len());
    let trimmed = &main[start..];
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if trimmed.starts_with('+') {
        out.push(format!("+{digits}"));
    } else if let Some(rest) = digits.strip_prefix("00") {
        out.push(format!("+{rest}"));
    } else {
        if let Some(cc) = default_country_code {
            match digits.strip_prefix('0') {
                Some(national) => out.push(format!("+{cc}{national}")),
                None => {
                    out.push(format!("+{cc}{digits}"));
                    // Already written with the country code but without "+" ("1 858 867 7857").
                    if digits.starts_with(cc) {
                        out.push(format!("+{digits}"));
                    }
                }
            }
        } else {
            out.push(format!("+{digits}"));
        }
    }
    out.retain(|n| E164::parse(n).is_ok());
    out
}

/// Whether a free-text phone field is the same number as `number`.
pub fn phone_matches(stored: &str, number: &E164, default_country_code: Option<&str>) -> bool {
    phone_candidates(stored, default_country_code)
        .iter()
        .any(|c| c == number.as_str())
}

/// `LIKE` fragments that find a number however it is grouped: the last four digits
/// together (NANP, E.123 and most national styles keep them together) or as two pairs
/// ("06 12 34 56 78"). Seven digits in a row, as sometimes suggested, would miss
/// "+1 858 867 7857".
pub fn phone_like_fragments(number: &E164) -> Vec<String> {
    let digits = digits(number.as_str());
    let last4 = &digits[digits.len().saturating_sub(4)..];
    vec![
        last4.to_string(),
        format!("{} {}", &last4[..2], &last4[2..]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_fields_normalise_to_e164() {
        let n = E164::parse("+18588677857").unwrap();
        for stored in [
            "+1 858 867 7857",
            "+1 (858) 867-7857",
            "+18588677857",
            "001 858 867 7857",
            "+1 858 867 7857 ext. 12",
            "+1.858.867.7857 x12",
        ] {
            assert!(phone_matches(stored, &n, None), "{stored}");
        }
        // National forms need the default country code.
        assert!(!phone_matches("(858) 867-7857", &n, None));
        assert!(phone_matches("(858) 867-7857", &n, Some("1")));
        assert!(phone_matches("1 858 867 7857", &n, Some("1")));
        let uk = E164::parse("+442071838750").unwrap();
        assert!(phone_matches("020 7183 8750", &uk, Some("44")));
        assert!(phone_matches("+44 (0)20 7183 8750", &uk, None));
        assert!(phone_matches("mobile: +1 858 867 7857", &n, None));
        // Other numbers, fragments and junk never match.
        for stored in ["+1 858 867 7858", "867 7857", "", "n/a", "+44 858 867 7857"] {
            assert!(!phone_matches(stored, &n, Some("1")), "{stored}");
        }
    }

    #[test]
    fn phone_like_fragments_cover_common_groupings() {
        let n = E164::parse("+33612345678").unwrap();
        assert_eq!(phone_like_fragments(&n), ["5678", "56 78"]);
    }
}
