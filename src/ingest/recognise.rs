//! Layout recognition: rules that map a header to the roles of DESIGN.md §1.
//!
//! The rules are written to be read by a person and to carry over to files we have not
//! seen; they are not a lookup of known headers. A header is normalised first (lower
//! case, `ё`→`е`, punctuation → spaces) and then:
//!
//! **Russian CEC protocols.** Every protocol line starts with "Число" ("number of").
//! Within those, the noun and participle decide:
//! - избирател… + список + (включен… | внесен…) → registered voters `N`
//! - бюллетен… + получен… → ballots received
//! - бюллетен… + выдан… → ballots issued `B` (early, in the station, outside: summed)
//! - бюллетен… + погашен… → cancelled
//! - бюллетен… + ящик… → ballots in boxes `C` (portable + stationary: summed)
//! - недействительн… → invalid `I`; действительн… (not недействительн…) → valid `V`
//! - бюллетен… + утрачен… → lost; бюллетен… + (не учтен… | неучтен…) → unaccounted
//!   (tested before «получен…», which «не учтенных при получении» also contains)
//! - any other "Число …" line (absentee certificates, …) is a protocol line we do not
//!   use: reported as ignored, never taken for a candidate.
//!
//! **English / generic.** By words in the header: registered | electorate | eligible →
//! `N`; received; issued → `B` (summed); cancelled | canceled | unused; box | boxes |
//! cast → `C` (summed); invalid | spoiled | spoilt | rejected → `I`; valid → `V`; lost;
//! unaccounted.
//!
//! **Hierarchy.** A header that *is* one of: region, регион, субъект, oblast, province,
//! state → region; district, oik, оик, constituency, okrug, округ → district; tik, тик,
//! commission, territorial commission, municipality, rayon, район → commission;
//! uik, уик, station, precinct, polling station, участок → station id.
//!
//! **Not counts.** url, link, ссылка; totals and percentages (total, turnout, явка,
//! percent, %); identifiers (id, code, код). Reported as ignored.
//!
//! **Candidates.** Every remaining column whose sampled values are counts. A remaining
//! column of text (most sampled values not counts) is reported as ignored.

use crate::model::Role;

/// What a header looks like on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess {
    Role(Role, &'static str),
    /// Hierarchy level: rank (0 region, 1 district, 2 commission) and output name.
    Level(u8, &'static str),
    Station,
    /// A protocol line we recognise as such but do not use.
    OtherLine(&'static str),
    /// Not a count: links, totals, identifiers.
    NotCount(&'static str),
}

pub fn normalise(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let mut space = true;
    for c in h.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_alphanumeric() || c == '%' {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

pub fn classify(header: &str) -> Option<Guess> {
    let n = normalise(header);
    if n.is_empty() {
        return None;
    }
    let words: Vec<&str> = n.split(' ').collect();
    let has = |w: &str| words.iter().any(|x| *x == w);
    let stem = |s: &str| words.iter().any(|x| x.starts_with(s));

    // Hierarchy: the whole header names the level.
    match n.as_str() {
        "region" | "регион" | "субъект" | "subject" | "oblast" | "province" | "state" | "region name" => {
            return Some(Guess::Level(0, "region"));
        }
        "district" | "oik" | "оик" | "constituency" | "okrug" | "округ" => {
            return Some(Guess::Level(1, "district"));
        }
        "tik" | "тик" | "commission" | "territorial commission" | "municipality" | "rayon" | "район" => {
            return Some(Guess::Level(2, "commission"));
        }
        "uik" | "уик" | "station" | "station id" | "precinct" | "polling station" | "участок" | "uik number" => {
            return Some(Guess::Station);
        }
        "url" | "link" | "href" | "ссылка" => return Some(Guess::NotCount("link")),
        "id" | "code" | "код" | "level" | "уровень" => return Some(Guess::NotCount("identifier")),
        _ => {}
    }

    // Russian protocol lines.
    if words[0] == "число" {
        let ballot = stem("бюллетен");
        if stem("избирател") && stem("спис") && (stem("включен") || stem("внесен")) {
            return Some(Guess::Role(Role::Registered, "Russian: «число избирателей, включенных/внесенных в список»"));
        }
        if stem("недействительн") {
            return Some(Guess::Role(Role::Invalid, "Russian: «недействительных бюллетеней»"));
        }
        if stem("действительн") {
            return Some(Guess::Role(Role::Valid, "Russian: «действительных бюллетеней»"));
        }
        if ballot {
            // «не учтенных при получении» also holds «получен»: test it first.
            if stem("неучтен") || (has("не") && stem("учтен")) {
                return Some(Guess::Role(Role::Unaccounted, "Russian: «не учтенных при получении»"));
            }
            if stem("получен") {
                return Some(Guess::Role(Role::Received, "Russian: «бюллетеней, полученных»"));
            }
            if stem("выдан") {
                return Some(Guess::Role(Role::Issued, "Russian: «бюллетеней, выданных» (summed)"));
            }
            if stem("погашен") {
                return Some(Guess::Role(Role::Cancelled, "Russian: «погашенных бюллетеней»"));
            }
            if stem("ящик") {
                return Some(Guess::Role(Role::InBoxes, "Russian: «бюллетеней в … ящиках» (summed)"));
            }
            if stem("утрачен") {
                return Some(Guess::Role(Role::Lost, "Russian: «утраченных бюллетеней»"));
            }
        }
        return Some(Guess::OtherLine("Russian protocol line not used (e.g. absentee certificates)"));
    }

    // Totals and percentages are derived, never counts of their own.
    if has("total") || has("turnout") || has("явка") || has("percent") || has("pct") || n.contains('%') || has("итого") {
        return Some(Guess::NotCount("derived total or percentage"));
    }
    // English / generic protocol lines, by word.
    if has("registered") || has("electorate") || has("eligible") {
        return Some(Guess::Role(Role::Registered, "word: registered/electorate/eligible"));
    }
    if has("received") {
        return Some(Guess::Role(Role::Received, "word: received"));
    }
    if has("issued") {
        return Some(Guess::Role(Role::Issued, "word: issued (summed)"));
    }
    if has("cancelled") || has("canceled") || has("unused") {
        return Some(Guess::Role(Role::Cancelled, "word: cancelled/unused"));
    }
    if has("invalid") || has("spoiled") || has("spoilt") || has("rejected") {
        return Some(Guess::Role(Role::Invalid, "word: invalid/spoiled/rejected"));
    }
    if has("valid") {
        return Some(Guess::Role(Role::Valid, "word: valid"));
    }
    if has("lost") {
        return Some(Guess::Role(Role::Lost, "word: lost"));
    }
    if has("unaccounted") {
        return Some(Guess::Role(Role::Unaccounted, "word: unaccounted"));
    }
    if has("boxes") || has("box") || has("cast") {
        return Some(Guess::Role(Role::InBoxes, "word: box/boxes/cast (summed)"));
    }
    None
}

/// Roles that legitimately come from several columns, summed.
pub fn summable(role: Role) -> bool {
    matches!(role, Role::Issued | Role::InBoxes)
}

/// Stations abroad: region names with "Зарубеж"/"за пределами"/"abroad", or a region
/// code of 9x at the start ("99 Территория за пределами РФ", "98 Город Байконур").
pub fn is_abroad(region: &str) -> bool {
    let l = region.to_lowercase();
    if l.contains("зарубеж") || l.contains("за пределами") || l.contains("abroad") || l.contains("overseas") {
        return true;
    }
    let b = region.as_bytes();
    b.len() >= 3 && b[0] == b'9' && b[1].is_ascii_digit() && b[2] == b' '
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(h: &str) -> Option<Role> {
        match classify(h) {
            Some(Guess::Role(r, _)) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn russian_wording_variants() {
        // 2011/2012/2018 wordings plus variants used in regional elections.
        assert_eq!(role("Число избирателей, включенных в список избирателей"), Some(Role::Registered));
        assert_eq!(role("Число избирателей, внесенных в список избирателей"), Some(Role::Registered));
        assert_eq!(role("Число избирателей, внесённых в список избирателей на момент окончания голосования"), Some(Role::Registered));
        assert_eq!(role("Число избирательных бюллетеней, выданных избирателям в помещении для голосования"), Some(Role::Issued));
        assert_eq!(role("Число бюллетеней, выданных избирателям, проголосовавшим досрочно"), Some(Role::Issued));
        assert_eq!(role("Число бюллетеней в стационарных ящиках для голосования"), Some(Role::InBoxes));
        assert_eq!(role("Число недействительных избирательных бюллетеней"), Some(Role::Invalid));
        assert_eq!(role("Число действительных избирательных бюллетеней"), Some(Role::Valid));
        assert_eq!(role("Число избирательных бюллетеней, не учтенных при получении"), Some(Role::Unaccounted));
        assert_eq!(role("Число неучтённых бюллетеней"), Some(Role::Unaccounted));
        assert_eq!(role("Число утраченных избирательных бюллетеней"), Some(Role::Lost));
        assert_eq!(role("Число погашенных избирательных бюллетеней"), Some(Role::Cancelled));
        assert_eq!(
            classify("Число открепительных удостоверений, выданных избирателям ТИК"),
            Some(Guess::OtherLine("Russian protocol line not used (e.g. absentee certificates)"))
        );
    }

    #[test]
    fn english_and_hierarchy() {
        assert_eq!(role("registered"), Some(Role::Registered));
        assert_eq!(role("Registered voters"), Some(Role::Registered));
        assert_eq!(role("issued_on_day"), Some(Role::Issued));
        assert_eq!(role("portable_boxes"), Some(Role::InBoxes));
        assert_eq!(role("Ballots cast"), Some(Role::InBoxes));
        assert_eq!(role("invalid"), Some(Role::Invalid));
        assert_eq!(role("valid"), Some(Role::Valid));
        assert_eq!(role("Candidate A"), None);
        assert_eq!(classify("Total votes"), Some(Guess::NotCount("derived total or percentage")));
        assert_eq!(classify("tik"), Some(Guess::Level(2, "commission")));
        assert_eq!(classify("Region"), Some(Guess::Level(0, "region")));
        assert_eq!(classify("uik"), Some(Guess::Station));
        assert_eq!(classify("url"), Some(Guess::NotCount("link")));
    }

    #[test]
    fn abroad() {
        assert!(is_abroad("99 Территория за пределами РФ"));
        assert!(is_abroad("Зарубежная территория"));
        assert!(is_abroad("98 Город Байконур (Республика Казахстан)"));
        assert!(!is_abroad("Республика Адыгея (Адыгея)"));
        assert!(!is_abroad("9 мая"));
    }
}
