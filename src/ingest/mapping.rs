//! What the user says about the columns: flags and mapping files (TOML or JSON).
//!
//! A mapping file names columns by their header text:
//!
//! ```toml
//! delimiter = ";"              # optional; detected when absent
//! encoding = "windows-1250"    # optional; UTF-8 or detected when absent (as --encoding)
//! sheet = "Wyniki"             # a spreadsheet's sheet, by name or 1-based number (as --sheet)
//! registered = "Registered voters"
//! issued = ["Issued early", "Issued on the day"]   # several columns are summed
//! in_boxes = ["Portable boxes", "Stationary boxes"]
//! valid = "Valid"
//! invalid = "Invalid"
//! candidates = ["Smith", "Jones"]  # when absent, recognised (all remaining count columns)
//! region = "Oblast"
//! commission = "District"
//! station = "Precinct"
//! ignore = ["url", "comment"]
//! na = ["***"]                 # more "no data" values (empty, -, –, —, NA, n/a always are)
//! where = ["KOLO=1"]           # use only these rows (a round or race of a stacked file)
//!
//! [long]                        # long format: one row per station × candidate
//! station = ["county", "precinct"]
//! candidate = "candidate"
//! votes = "votes"
//! where = ["office=President"]
//! ```
//!
//! Roles not named are recognised from the header (see `recognise`); a role named
//! here always wins over recognition.

use crate::error::{Error, InputError, Result};
use crate::model::Role;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One or several column names.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Cols {
    One(String),
    Many(Vec<String>),
}

impl Cols {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Cols::One(s) => vec![s],
            Cols::Many(v) => v,
        }
    }
}

/// Long-format settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LongSpec {
    /// Key column(s) identifying a station (several are joined with " / ").
    #[serde(default)]
    pub station: Vec<String>,
    pub candidate: Option<String>,
    pub votes: Option<String>,
    /// `COL=VALUE` filters; a row is used when all hold.
    #[serde(default, rename = "where")]
    pub filters: Vec<String>,
}

/// Everything the user can say about a file's layout.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub delimiter: Option<String>,
    /// The text encoding (a WHATWG label, as `--encoding`; the flag wins).
    pub encoding: Option<String>,
    /// A spreadsheet's sheet, by name or 1-based number (as `--sheet`; the flag wins).
    pub sheet: Option<String>,
    pub registered: Option<Cols>,
    pub received: Option<Cols>,
    pub issued: Option<Cols>,
    pub cancelled: Option<Cols>,
    pub in_boxes: Option<Cols>,
    pub invalid: Option<Cols>,
    pub valid: Option<Cols>,
    pub lost: Option<Cols>,
    pub unaccounted: Option<Cols>,
    pub candidates: Option<Vec<String>>,
    pub region: Option<String>,
    pub commission: Option<String>,
    /// Extra levels between region and commission, top first.
    #[serde(default)]
    pub levels: Vec<String>,
    pub station: Option<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Extra cell values that mean "no data" (besides empty, `-`, `–`, `—`, `NA`, `n/a`).
    pub na: Option<Vec<String>>,
    /// `COL=VALUE` filters for wide files (a round, a race); long files may also give
    /// them under `[long]`.
    #[serde(default, rename = "where")]
    pub filters: Vec<String>,
    pub long: Option<LongSpec>,
}

impl Mapping {
    /// Reads a mapping file; `.json` is JSON, anything else TOML.
    pub fn from_file(path: &Path) -> Result<Mapping> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
        Self::parse(&shown, &text, path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")))
    }

    pub fn parse(name: &str, text: &str, json: bool) -> Result<Mapping> {
        if json {
            serde_json::from_str(text).map_err(|e| {
                InputError::new(name, format!("invalid mapping file (JSON): {e}"))
                    .line(e.line() as u64)
                    .into()
            })
        } else {
            toml::from_str(text).map_err(|e| {
                let line = e.span().map(|s| 1 + text[..s.start].matches('\n').count() as u64);
                let mut err = InputError::new(
                    name,
                    format!("invalid mapping file (TOML): {}", e.message()),
                );
                err.line = line;
                err.into()
            })
        }
    }

    /// The columns named for `role`, if any.
    pub fn role(&self, role: Role) -> Option<&Cols> {
        match role {
            Role::Registered => self.registered.as_ref(),
            Role::Received => self.received.as_ref(),
            Role::Issued => self.issued.as_ref(),
            Role::Cancelled => self.cancelled.as_ref(),
            Role::InBoxes => self.in_boxes.as_ref(),
            Role::Invalid => self.invalid.as_ref(),
            Role::Valid => self.valid.as_ref(),
            Role::Lost => self.lost.as_ref(),
            Role::Unaccounted => self.unaccounted.as_ref(),
        }
    }

    pub fn set_role(&mut self, role: Role, cols: Cols) {
        let slot = match role {
            Role::Registered => &mut self.registered,
            Role::Received => &mut self.received,
            Role::Issued => &mut self.issued,
            Role::Cancelled => &mut self.cancelled,
            Role::InBoxes => &mut self.in_boxes,
            Role::Invalid => &mut self.invalid,
            Role::Valid => &mut self.valid,
            Role::Lost => &mut self.lost,
            Role::Unaccounted => &mut self.unaccounted,
        };
        *slot = Some(cols);
    }

    /// `self` with every field that `over` sets replaced (flags override the file).
    pub fn overlay(mut self, over: Mapping) -> Mapping {
        macro_rules! take {
            ($($f:ident),*) => { $( if over.$f.is_some() { self.$f = over.$f; } )* };
        }
        take!(delimiter, encoding, sheet, registered, received, issued, cancelled, in_boxes, invalid, valid, lost,
              unaccounted, candidates, region, commission, station, na, long);
        if !over.filters.is_empty() {
            self.filters = over.filters;
        }
        if !over.levels.is_empty() {
            self.levels = over.levels;
        }
        self.ignore.extend(over.ignore);
        self
    }

    /// The delimiter byte, if one was given (`,` `;` `\t` `tab` `|`).
    pub fn delimiter_byte(&self) -> Result<Option<u8>> {
        match self.delimiter.as_deref() {
            None => Ok(None),
            Some("\\t") | Some("tab") | Some("\t") => Ok(Some(b'\t')),
            Some(s) if s.len() == 1 && s.is_ascii() => Ok(Some(s.as_bytes()[0])),
            Some(s) => Err(Error::usage(format!(
                "delimiter \"{s}\" is not a single ASCII character; use ',', ';', '|' or 'tab'"
            ))),
        }
    }

    /// Parsed `where` filters (top level and, for long files, `[long]`).
    pub fn filters(&self) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let long = self.long.as_ref().map(|l| l.filters.as_slice()).unwrap_or(&[]);
        {
            for f in self.filters.iter().chain(long) {
                let (k, v) = f.split_once('=').ok_or_else(|| {
                    Error::usage(format!("--where \"{f}\": expected COLUMN=VALUE, e.g. office=President"))
                })?;
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_agree() {
        let t = Mapping::parse(
            "m.toml",
            "registered = \"N\"\nissued = [\"B1\", \"B2\"]\ncandidates = [\"A\", \"B\"]\n[long]\nstation = [\"s\"]\nwhere = [\"office=President\"]\n",
            false,
        )
        .unwrap();
        let j = Mapping::parse(
            "m.json",
            r#"{"registered": "N", "issued": ["B1", "B2"], "candidates": ["A", "B"], "long": {"station": ["s"], "where": ["office=President"]}}"#,
            true,
        )
        .unwrap();
        assert_eq!(t, j);
        assert_eq!(t.issued.clone().unwrap().into_vec(), vec!["B1", "B2"]);
        assert_eq!(t.filters().unwrap().get("office").unwrap(), "President");
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let e = Mapping::parse("m.toml", "registered = \"N\"\nregistred = \"X\"\n", false).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("m.toml:2:"), "{s}");
        assert!(s.contains("registred"), "{s}");
    }
}
