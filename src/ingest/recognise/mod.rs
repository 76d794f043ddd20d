//! Layout recognition: from a header's words to the role of DESIGN.md §1 it carries.
//!
//! The rules themselves are data, in [`rules`]: tables of word patterns per role and
//! language (Russian, Ukrainian, Kazakh, Polish, Czech/Slovak, Georgian, English,
//! Spanish/Portuguese, French, German), hierarchy levels and station columns, and the
//! kinds of special station. This module is the engine that applies them, in this
//! order (the first that decides wins):
//!
//! 1. A header that is only a number ("1", "41") is a candidate's ballot number: left
//!    to the value checks, which make it a candidate when its values are counts.
//! 2. [`rules::FIRST`]: breakdowns ("of which …"), links, checks, flags, rounds and
//!    races, station types, special-station flags, addresses, dates.
//! 3. Turnout at a time of day: a number from 0 to 24 beside a time word ("votes by
//!    12", "явка на 10 00", "აქტივობა 12 საათი").
//! 4. Hierarchy and station: decoration words (code, id, no, name, a year) are
//!    stripped ("Dist_no_2016" → `dist`, "PS NAME" → `ps`, "Numer obwodu" → `obwodu`)
//!    and what is left must be one of [`rules::LEVELS`] or [`rules::STATION`] whole.
//! 5. [`rules::LINES`]: protocol lines by language.
//! 6. [`rules::LAST`]: derived totals and percentages; identifiers.
//!
//! Columns no rule decides go to the value checks of `ingest::profile`.

pub mod rules;

use crate::model::{Role, Special};
use rules::Then;

/// Which part of a level (or of the station's identity) a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A code or number ("District code", "Stn_no").
    Code,
    /// A name ("District name", "PS NAME").
    Name,
    /// The header says neither.
    Plain,
}

/// What a header looks like on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guess {
    /// A rule of [`rules::LINES`] or [`rules::FIRST`] fired.
    Line(Then),
    /// Hierarchy level: rank (0 top), output name, the level word as matched (to tell
    /// two levels of one rank apart), and the part.
    Level { rank: u8, name: &'static str, base: String, part: Part },
    Station(Part),
}

/// A recognised header: the guess, the language of the rule and a reason to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    pub guess: Guess,
    pub lang: &'static str,
    pub why: String,
}

/// Lower case, `ё`→`е`, Latin diacritics folded to their base letter, anything not a
/// letter, digit or `%` turned into one space.
pub fn normalise(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let mut space = true;
    for c in h.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_alphanumeric() || c == '%' {
            match fold(c) {
                Some(f) => out.push_str(f),
                None => out.push(c),
            }
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

/// Latin letters with diacritics (Polish, Czech, Slovak, German, French, Spanish,
/// Portuguese, Romanian, Hungarian, Baltic, Turkish) to their base letters, so that
/// rules are written once ("wyborcow" matches "wyborców" and a file that dropped the
/// accents alike).
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ą' | 'ă' | 'ā' => "a",
        'ć' | 'č' | 'ç' => "c",
        'ď' | 'đ' => "d",
        'é' | 'è' | 'ê' | 'ë' | 'ę' | 'ě' | 'ē' | 'ė' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ĺ' | 'ľ' | 'ł' => "l",
        'ń' | 'ň' | 'ñ' | 'ņ' => "n",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ő' | 'ø' => "o",
        'ŕ' | 'ř' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ť' | 'ţ' | 'ț' => "t",
        'ú' | 'ù' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

/// True when one pattern token matches one header word: `stem*` by prefix, `=word`
/// or `word` whole.
fn token_matches(token: &str, word: &str) -> bool {
    let t = token.strip_prefix('=').unwrap_or(token);
    match t.strip_suffix('*') {
        Some(stem) => word.starts_with(stem),
        None => word == t,
    }
}

/// A phrase matches when each of its tokens matches some word of the header.
fn phrase_matches(phrase: &str, words: &[&str]) -> bool {
    phrase.split(' ').all(|t| words.iter().any(|w| token_matches(t, w)))
}

/// A phrase matches a header exactly: the same number of words, in order.
fn phrase_is(phrase: &str, words: &[&str]) -> bool {
    let toks: Vec<&str> = phrase.split(' ').collect();
    toks.len() == words.len() && toks.iter().zip(words).all(|(t, w)| token_matches(t, w))
}

/// The first rule of `table` that fires on `words`, with the phrase that matched.
pub fn first_rule<'a>(table: &'a [rules::Rule], words: &[&str]) -> Option<(&'a rules::Rule, &'a str)> {
    table.iter().find_map(|r| {
        if r.not.iter().any(|n| words.iter().any(|w| token_matches(n, w))) {
            return None;
        }
        r.any.iter().find(|p| phrase_matches(p, words)).map(|p| (r, *p))
    })
}

const TIME_WORDS: &[&str] = &["by", "at", "until", "hour*", "h", "hrs", "uhr", "godz*", "час*", "saat*", "საათ*", "hod*", "am", "pm", "horas", "hora", "heure*", "до", "на", "o clock", "time"];

fn is_time_of_day(words: &[&str]) -> bool {
    let hour = words.iter().any(|w| w.len() <= 2 && w.parse::<u8>().is_ok_and(|h| h <= 24));
    hour && words.len() >= 2 && words.iter().any(|w| TIME_WORDS.iter().any(|t| token_matches(t, w)))
}

/// Strips decoration words (code, id, name, a four-digit year) from a header; returns
/// the remaining words and which part the decoration named.
fn strip_decoration<'a>(words: &[&'a str]) -> (Vec<&'a str>, Part) {
    let mut part = Part::Plain;
    let mut rest = Vec::with_capacity(words.len());
    for &w in words {
        if rules::CODE_WORDS.contains(&w) {
            part = Part::Code;
        } else if rules::NAME_WORDS.contains(&w) {
            part = Part::Name;
        } else if w.len() == 4 && (w.starts_with("19") || w.starts_with("20")) && w.bytes().all(|b| b.is_ascii_digit()) {
            // a year suffix: "Dist_no_2016"
        } else {
            rest.push(w);
        }
    }
    (rest, part)
}

/// Recognises one header; `None` when no rule decides (the value checks will).
pub fn classify(header: &str) -> Option<Recognised> {
    let n = normalise(header);
    if n.is_empty() || n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let words: Vec<&str> = n.split(' ').collect();
    let fired = |table: &'static [rules::Rule]| {
        first_rule(table, &words).map(|(r, p)| Recognised {
            guess: Guess::Line(r.then),
            lang: r.lang,
            why: format!("{} rule «{}»", r.lang, p.replace('=', "")),
        })
    };
    if let Some(r) = fired(rules::FIRST) {
        return Some(r);
    }
    if is_time_of_day(&words) {
        return Some(Recognised {
            guess: Guess::Line(Then::NotCount("turnout at a time of day")),
            lang: "any",
            why: "an hour beside a time word".into(),
        });
    }
    let (rest, part) = strip_decoration(&words);
    if !rest.is_empty() {
        if let Some(p) = rules::STATION.iter().find(|p| phrase_is(p, &rest)) {
            return Some(Recognised { guess: Guess::Station(part), lang: "any", why: format!("station rule «{p}»") });
        }
        for (rank, name, phrases) in rules::LEVELS {
            if let Some(p) = phrases.iter().find(|p| phrase_is(p, &rest)) {
                return Some(Recognised {
                    guess: Guess::Level { rank: *rank, name, base: rest.join(" "), part },
                    lang: "any",
                    why: format!("{name} rule «{p}»"),
                });
            }
        }
    }
    fired(rules::LINES).or_else(|| fired(rules::LAST))
}

/// The role a recognised protocol line feeds, if any (supplementary lists and postal
/// ballots feed registered and issued).
pub fn role_of(t: Then) -> Option<Role> {
    match t {
        Then::Role(r) => Some(r),
        Then::RegisteredExtra => Some(Role::Registered),
        Then::IssuedPostal => Some(Role::Issued),
        _ => None,
    }
}

/// Roles that legitimately come from several columns, summed: ballots issued (early,
/// on the day, outside, postal), ballots in boxes (portable, stationary), invalid
/// (invalid ballot papers and invalid votes, where a protocol lists both), and
/// registered voters (a main list plus supplementary lists).
pub fn summable(role: Role) -> bool {
    matches!(role, Role::Issued | Role::InBoxes | Role::Invalid | Role::Registered)
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

/// The kind of station a station-type value names: `Some(None)` for an ordinary
/// station, `Some(Some(kind))` for a special one, `None` when no rule knows the value.
pub fn station_kind(value: &str) -> Option<Option<Special>> {
    let n = normalise(value);
    if n.is_empty() {
        return None;
    }
    let words: Vec<&str> = n.split(' ').collect();
    rules::STATION_KINDS
        .iter()
        .find(|(_, phrases)| phrases.iter().any(|p| phrase_matches(&normalise_pattern(p), &words)))
        .map(|(k, _)| *k)
}

/// Kind patterns are written with their diacritics where that reads better ("stały");
/// fold them like headers, keeping the `*`.
fn normalise_pattern(p: &str) -> String {
    p.split(' ')
        .map(|t| {
            let star = t.ends_with('*');
            let mut n = normalise(t.trim_end_matches('*'));
            if star {
                n.push('*');
            }
            n
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(h: &str) -> Option<Role> {
        match classify(h)?.guess {
            Guess::Line(t) => role_of(t),
            _ => None,
        }
    }
    fn then(h: &str) -> Option<Then> {
        match classify(h)?.guess {
            Guess::Line(t) => Some(t),
            _ => None,
        }
    }
    fn level(h: &str) -> Option<(u8, Part)> {
        match classify(h)?.guess {
            Guess::Level { rank, part, .. } => Some((rank, part)),
            _ => None,
        }
    }

    #[test]
    fn russian_wording_variants() {
        // 2011/2012/2018 wordings, variants of regional elections, the 2020 vote.
        assert_eq!(role("Число избирателей, включенных в список избирателей"), Some(Role::Registered));
        assert_eq!(role("Число избирателей, внесенных в список избирателей"), Some(Role::Registered));
        assert_eq!(role("Число избирателей, внесённых в список избирателей на момент окончания голосования"), Some(Role::Registered));
        assert_eq!(role("Число участников голосования, включенных в список участников голосования"), Some(Role::Registered));
        assert_eq!(role("Число бюллетеней, выданных участникам голосования"), Some(Role::Issued));
        assert_eq!(role("Число избирательных бюллетеней, выданных избирателям в помещении для голосования"), Some(Role::Issued));
        assert_eq!(role("Число бюллетеней, выданных избирателям, проголосовавшим досрочно"), Some(Role::Issued));
        assert_eq!(role("Число бюллетеней в стационарных ящиках для голосования"), Some(Role::InBoxes));
        assert_eq!(role("Число недействительных избирательных бюллетеней"), Some(Role::Invalid));
        assert_eq!(role("Число действительных избирательных бюллетеней"), Some(Role::Valid));
        assert_eq!(role("Число избирательных бюллетеней, не учтенных при получении"), Some(Role::Unaccounted));
        assert_eq!(role("Число неучтённых бюллетеней"), Some(Role::Unaccounted));
        assert_eq!(role("Число утраченных избирательных бюллетеней"), Some(Role::Lost));
        assert_eq!(role("Число погашенных избирательных бюллетеней"), Some(Role::Cancelled));
        assert_eq!(role("Число избирательных бюллетеней, полученных участковой избирательной комиссией"), Some(Role::Received));
        assert_eq!(then("Число открепительных удостоверений, выданных избирателям ТИК"), Some(Then::OtherLine));
    }

    #[test]
    fn other_languages() {
        // Ukrainian (ЦВК protocol lines).
        assert_eq!(role("Кількість виборців, внесених до списку виборців на виборчій дільниці"), Some(Role::Registered));
        assert_eq!(role("Кількість виборчих бюлетенів, отриманих дільничною виборчою комісією"), Some(Role::Received));
        assert_eq!(role("Кількість невикористаних виборчих бюлетенів"), Some(Role::Cancelled));
        assert_eq!(role("Кількість виборців, які отримали виборчі бюлетені"), Some(Role::Issued));
        assert_eq!(role("Кількість виборців, які взяли участь у голосуванні"), Some(Role::InBoxes));
        assert_eq!(role("Кількість виборчих бюлетенів, визнаних недійсними"), Some(Role::Invalid));
        // Polish (PKW).
        assert_eq!(role("Liczba wyborców uprawnionych do głosowania"), Some(Role::Registered));
        assert_eq!(role("Komisje obwodowe otrzymały kart do głosowania"), Some(Role::Received));
        assert_eq!(role("Nie wykorzystano kart do głosowania"), Some(Role::Cancelled));
        assert_eq!(role("Liczba wyborców, którym wydano karty do głosowania"), Some(Role::Issued));
        assert_eq!(then("Liczba wyborców, którym wysłano pakiety wyborcze"), Some(Then::IssuedPostal));
        assert_eq!(then("Liczba kopert na kartę do głosowania wrzuconych do urny"), Some(Then::OtherLine));
        assert_eq!(role("Liczba kart wyjętych z urny"), Some(Role::InBoxes));
        assert_eq!(then("W tym liczba kart wyjętych z kopert na kartę do głosowania"), Some(Then::OtherLine));
        assert_eq!(role("Liczba kart nieważnych"), Some(Role::Invalid));
        assert_eq!(role("Liczba głosów nieważnych"), Some(Role::Invalid));
        assert_eq!(then("Liczba kart ważnych"), Some(Then::OtherLine));
        assert_eq!(role("Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów"), Some(Role::Valid));
        assert_eq!(then("Liczba wyborców głosujących przez pełnomocnika"), Some(Then::OtherLine));
        // Czech CZSO open data, and the full Czech/Slovak wording.
        assert_eq!(role("VOL_SEZNAM"), Some(Role::Registered));
        assert_eq!(role("VYD_OBALKY"), Some(Role::Issued));
        assert_eq!(role("ODEVZ_OBAL"), Some(Role::InBoxes));
        assert_eq!(role("PL_HL_CELK"), Some(Role::Valid));
        assert_eq!(role("Počet voličů v seznamu"), Some(Role::Registered));
        assert_eq!(role("Počet odovzdaných obálok"), Some(Role::InBoxes));
        assert_eq!(then("KOLO"), Some(Then::Split));
        assert!(matches!(then("KC_1"), Some(Then::NotCount(_))));
        assert!(matches!(then("OPRAVA"), Some(Then::NotCount(_))));
        assert!(matches!(then("TYP_FORM"), Some(Then::NotCount(_))));
        assert_eq!(classify("HLASY_01"), None);
        // Georgian.
        assert_eq!(role("ერთიან სიაში ამომრჩეველთა რაოდენობა"), Some(Role::Registered));
        assert_eq!(then("სპეციალურ სიაში ამომრჩეველთა რაოდენობა"), Some(Then::RegisteredExtra));
        assert_eq!(role("არჩევნებში მონაწილეთა რაოდენობა"), Some(Role::Issued));
        assert_eq!(role("ბათილი ბიულეტენები"), Some(Role::Invalid));
        assert!(matches!(then("აქტივობა 12 საათი"), Some(Then::NotCount(_))));
        // Spanish, Portuguese, French, German.
        assert_eq!(role("Electores"), Some(Role::Registered));
        assert_eq!(role("Votos nulos"), Some(Role::Invalid));
        assert_eq!(then("Votos en blanco"), Some(Then::Blank));
        assert_eq!(role("Votos válidos"), Some(Role::Valid));
        assert_eq!(role("Eleitores aptos"), Some(Role::Registered));
        assert_eq!(role("Inscrits"), Some(Role::Registered));
        assert_eq!(role("Votants"), Some(Role::InBoxes));
        assert_eq!(role("Exprimés"), Some(Role::Valid));
        assert_eq!(role("Wahlberechtigte"), Some(Role::Registered));
        assert_eq!(role("Ungültige Stimmen"), Some(Role::Invalid));
        assert_eq!(role("Gültige Stimmen"), Some(Role::Valid));
        assert_eq!(role("Wähler"), Some(Role::InBoxes));
    }

    #[test]
    fn english_variants_and_not_counts() {
        assert_eq!(role("registered"), Some(Role::Registered));
        assert_eq!(role("Registered voters"), Some(Role::Registered));
        assert_eq!(role("Reg.Voters"), Some(Role::Registered));
        assert_eq!(role("possible voters"), Some(Role::Registered));
        assert_eq!(then("special voters"), Some(Then::RegisteredExtra));
        assert_eq!(role("issued_on_day"), Some(Role::Issued));
        assert_eq!(role("ballots signed for"), Some(Role::Issued));
        assert_eq!(role("portable_boxes"), Some(Role::InBoxes));
        assert_eq!(role("Ballots cast"), Some(Role::InBoxes));
        assert_eq!(role("invalid"), Some(Role::Invalid));
        assert_eq!(role("Inv.Votes"), Some(Role::Invalid));
        assert_eq!(role("V.Votes"), Some(Role::Valid));
        assert_eq!(role("SPOILT"), Some(Role::Cancelled));
        assert_eq!(then("num ballots"), Some(Then::Ballots));
        assert_eq!(then("Ballots"), Some(Then::Ballots));
        assert_eq!(role("valid"), Some(Role::Valid));
        assert_eq!(classify("Candidate A"), None);
        assert_eq!(classify("41"), None);
        assert_eq!(classify("41 - Georgian Dream"), None);
        assert!(matches!(then("Total votes"), Some(Then::NotCount(_))));
        assert!(matches!(then("T.Votes"), Some(Then::NotCount(_))));
        assert!(matches!(then("votes by 12"), Some(Then::NotCount(_))));
        assert!(matches!(then("NON_REP"), Some(Then::NotCount(_))));
        assert!(matches!(then("logic check2"), Some(Then::NotCount(_))));
        assert!(matches!(then("Kod TERYT"), Some(Then::NotCount(_))));
        assert!(matches!(then("Symbol kontrolny"), Some(Then::NotCount(_))));
        assert!(matches!(then("No."), Some(Then::NotCount(_))));
        assert!(matches!(then("Original_Station_ID_2016"), Some(Then::NotCount(_))));
        assert_eq!(then("Typ obwodu"), Some(Then::StationType));
        assert_eq!(then("special precinct"), Some(Then::SpecialFlag));
        assert!(matches!(then("url"), Some(Then::NotCount(_))));
    }

    #[test]
    fn hierarchy_and_station() {
        assert_eq!(level("tik"), Some((20, Part::Plain)));
        assert_eq!(level("Region"), Some((0, Part::Plain)));
        assert_eq!(level("Województwo"), Some((0, Part::Plain)));
        assert_eq!(level("Prefectures"), Some((0, Part::Plain)));
        assert_eq!(level("DISTRICT CODE"), Some((10, Part::Code)));
        assert_eq!(level("DISTRICT NAME"), Some((10, Part::Name)));
        assert_eq!(level("Dist_no_2016"), Some((10, Part::Code)));
        assert_eq!(level("Nr OKW"), Some((10, Part::Code)));
        assert_eq!(level("Powiat"), Some((10, Part::Plain)));
        assert_eq!(level("OKRES"), Some((10, Part::Plain)));
        assert_eq!(level("OBEC"), Some((20, Part::Plain)));
        assert_eq!(level("Gmina"), Some((20, Part::Plain)));
        assert_eq!(level("SCOUNTY NAME"), Some((20, Part::Name)));
        assert_eq!(level("Communes"), Some((20, Part::Plain)));
        assert_eq!(level("Parish"), Some((30, Part::Plain)));
        assert_eq!(classify("uik").map(|r| r.guess), Some(Guess::Station(Part::Plain)));
        assert_eq!(classify("Numer obwodu").map(|r| r.guess), Some(Guess::Station(Part::Code)));
        assert_eq!(classify("OKRSEK").map(|r| r.guess), Some(Guess::Station(Part::Plain)));
        assert_eq!(classify("PS NAME").map(|r| r.guess), Some(Guess::Station(Part::Name)));
        assert_eq!(classify("precinct_id").map(|r| r.guess), Some(Guess::Station(Part::Code)));
        assert_eq!(classify("უბანი").map(|r| r.guess), Some(Guess::Station(Part::Plain)));
        assert_eq!(classify("Polling Station").map(|r| r.guess), Some(Guess::Station(Part::Plain)));
        assert_eq!(classify("Mesa").map(|r| r.guess), Some(Guess::Station(Part::Plain)));
    }

    #[test]
    fn station_kinds() {
        assert_eq!(station_kind("stały"), Some(None));
        assert_eq!(station_kind("zakład leczniczy"), Some(Some(Special::Institution)));
        assert_eq!(station_kind("dom pomocy społecznej"), Some(Some(Special::Institution)));
        assert_eq!(station_kind("areszt śledczy"), Some(Some(Special::Institution)));
        assert_eq!(station_kind("statek"), Some(Some(Special::Ship)));
        assert_eq!(station_kind("zagranica"), Some(Some(Special::Abroad)));
        assert_eq!(station_kind("Military unit"), Some(Some(Special::Institution)));
        assert_eq!(station_kind("Ordinary"), Some(None));
        assert_eq!(station_kind("something else"), None);
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
