//! The input options shared by every subcommand that reads protocols.

use crate::ingest::mapping::{Cols, LongSpec};
use crate::ingest::{self, Ingested, Mapping, Options};
use crate::model::Role;
use crate::Result;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Protocol file: CSV (comma, semicolon or tab; UTF-8, UTF-16 or a legacy encoding such
    /// as Windows-1251, detected), a spreadsheet (.xlsx, .xls, .ods), a .zip holding one
    /// CSV or spreadsheet, a gzipped CSV, or - for standard input. Title rows above the
    /// header and two-row (merged) headers are recognised.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Text encoding of a CSV file, when detection gets it wrong (names look garbled):
    /// any WHATWG label, e.g. utf-8, windows-1251 (cp1251), koi8-r, windows-1250,
    /// iso-8859-2 (latin2), windows-1252 (latin1), utf-16le, utf-16be. Default: UTF-8, or
    /// detected when the bytes are not UTF-8; `inspect` names the encoding used.
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,
    /// Spreadsheet sheet to read, by name or 1-based number (--sheet Results, --sheet 2).
    /// Default: the first visible sheet that has data (the others are named in a note).
    #[arg(long, value_name = "NAME|NUMBER")]
    pub sheet: Option<String>,
    /// Field delimiter: ',', ';', '|' or 'tab' (default: detected from the header line).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Mapping file (TOML, or JSON if it ends in .json) naming the columns of each role;
    /// flags override it. See `tallyscope inspect --help` for its keys.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Read rows that cannot be parsed as counted, reported skips instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,

    /// Column of registered voters (N).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub registered: Option<String>,
    /// Column(s) of ballots issued (B); several are summed (early, on the day, outside).
    /// Repeat the flag or separate with commas.
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub issued: Vec<String>,
    /// Column(s) of ballots found in boxes (C); several are summed (portable, stationary).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub in_boxes: Vec<String>,
    /// Column of valid ballots (V).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub valid: Option<String>,
    /// Column of invalid ballots (I).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub invalid: Option<String>,
    /// Column of ballots received by the station.
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub received: Option<String>,
    /// Column of cancelled (unused) ballots.
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub cancelled: Option<String>,
    /// Column of lost ballots.
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub lost: Option<String>,
    /// Column of ballots not accounted for at receipt.
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub unaccounted: Option<String>,
    /// Candidate / party / option columns (default: every remaining column of counts).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub candidates: Vec<String>,
    /// Region column (top of the hierarchy).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub region: Option<String>,
    /// Extra hierarchy level between region and commission (repeatable, top first).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub level: Vec<String>,
    /// District / territorial commission column (the level just above the stations).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub commission: Option<String>,
    /// Station id column, or several that together identify a station (repeat the flag
    /// or separate with commas: --station county,precinct); joined with " / ".
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub station: Vec<String>,
    /// Columns to leave out (repeatable).
    #[arg(long, value_name = "COL", help_heading = "Column mapping (default: recognised from the header)")]
    pub ignore: Vec<String>,

    /// Long format: one row per station × candidate. Needs --candidate-column and
    /// --votes-column, and the station key (--station, or a recognised station column).
    #[arg(long, help_heading = "Long format")]
    pub long: bool,
    /// Long format: the column holding candidate names.
    #[arg(long, value_name = "COL", help_heading = "Long format")]
    pub candidate_column: Option<String>,
    /// Long format: the column holding vote counts.
    #[arg(long, value_name = "COL", help_heading = "Long format")]
    pub votes_column: Option<String>,
    /// Use only rows where COL equals VALUE (repeatable; all must hold): one round of a
    /// file that stacks rounds (--where KOLO=1) or one race of a long file (--where
    /// office=President). A value that matches nothing is an error listing the values
    /// that exist; one that differs only in case is used, with a note.
    #[arg(long = "where", value_name = "COL=VALUE")]
    pub filters: Vec<String>,
    /// A cell value that means "no data" besides the ones always recognised (empty,
    /// -, –, —, NA, n/a, null, #N/A); repeatable. Rows with some counts missing are
    /// partly published protocols: checked on what they have, set aside from the tests.
    #[arg(long = "na", value_name = "VALUE")]
    pub na: Vec<String>,
}

impl InputArgs {
    /// The mapping file overlaid with the flags.
    pub fn options(&self) -> Result<Options> {
        let base = match &self.mapping {
            Some(p) => Mapping::from_file(p)?,
            None => Mapping::default(),
        };
        let mut m = Mapping { delimiter: self.delimiter.clone(), ..Default::default() };
        let one = |s: &Option<String>| s.clone().map(Cols::One);
        let many = |v: &Vec<String>| if v.is_empty() { None } else { Some(Cols::Many(v.clone())) };
        for (role, cols) in [
            (Role::Registered, one(&self.registered)),
            (Role::Received, one(&self.received)),
            (Role::Issued, many(&self.issued)),
            (Role::Cancelled, one(&self.cancelled)),
            (Role::InBoxes, many(&self.in_boxes)),
            (Role::Invalid, one(&self.invalid)),
            (Role::Valid, one(&self.valid)),
            (Role::Lost, one(&self.lost)),
            (Role::Unaccounted, one(&self.unaccounted)),
        ] {
            if let Some(c) = cols {
                m.set_role(role, c);
            }
        }
        if !self.candidates.is_empty() {
            m.candidates = Some(self.candidates.clone());
        }
        m.region = self.region.clone();
        m.commission = self.commission.clone();
        m.levels = self.level.clone();
        m.ignore = self.ignore.clone();
        if !self.na.is_empty() {
            m.na = Some(self.na.clone());
        }
        let long = self.long || base.long.is_some();
        if long {
            let b = base.long.clone().unwrap_or_default();
            m.long = Some(LongSpec {
                station: if self.station.is_empty() { b.station } else { self.station.clone() },
                candidate: self.candidate_column.clone().or(b.candidate),
                votes: self.votes_column.clone().or(b.votes),
                filters: if self.filters.is_empty() { b.filters } else { self.filters.clone() },
            });
        } else {
            if self.candidate_column.is_some() || self.votes_column.is_some() {
                return Err(crate::Error::usage("--candidate-column and --votes-column are for long files: add --long"));
            }
            m.filters = self.filters.clone();
            if !self.station.is_empty() {
                // Several columns (repeated or comma-separated) make a composite key.
                m.station = Some(self.station.join(","));
            }
        }
        if let Some(e) = &self.encoding {
            ingest::encoding::for_label(e)?; // a usage error before any file is read
        }
        Ok(Options {
            mapping: base.overlay(m),
            skip_bad_rows: self.skip_bad_rows,
            long,
            encoding: self.encoding.clone(),
            sheet: self.sheet.clone(),
        })
    }

    /// Reads the file as an election: refuses a file that stacks several rounds or
    /// races unless `--where` picked one (`inspect` reads it anyway, to show them).
    pub fn load(&self) -> Result<Ingested> {
        analysable(ingest::load(&self.file, &self.options()?)?)
    }

    /// Reads the file as it is, several rounds or races included (for `inspect`).
    pub fn load_any(&self) -> Result<Ingested> {
        ingest::load(&self.file, &self.options()?)
    }
}

/// An election read from any source, refused when it cannot be analysed as one: a file
/// that stacks several rounds or races with none picked, or one without candidate
/// columns; warns when a long file was read as wide. Shared by [`InputArgs::load`] and
/// the library facade ([`crate::api`]) so both say the same.
pub fn analysable(ing: Ingested) -> Result<Ingested> {
    ing.ensure_one_election()?;
    if let Some(hint) = super::inspect::looks_long(&ing) {
        eprintln!("tallyscope: {}: warning: this file looks long (one row per station × candidate), read as wide it has one \"candidate\": {hint}", ing.report.file);
    }
    if ing.election.candidates.is_empty() {
        return Err(crate::error::InputError::new(
            &ing.report.file,
            "no candidate columns: after the protocol lines and hierarchy, no column of vote counts is left \
             (`inspect` shows what each column was taken for); name them with --candidates COL1,COL2,…",
        )
        .line(1)
        .into());
    }
    Ok(ing)
}

/// Prints the reader's notes (sheet chosen, title rows skipped, …) and the row
/// accounting to stderr when anything was skipped or unpublished.
pub fn report_rows(r: &ingest::ReadReport) {
    for n in &r.notes {
        eprintln!("tallyscope: {}: {n}", r.file);
    }
    if r.rows_skipped > 0 {
        eprintln!(
            "tallyscope: {}: skipped {} unreadable rows of {} (--skip-bad-rows); first ones:",
            r.file, r.rows_skipped, r.rows_in_file
        );
        for s in r.skips.iter().take(5) {
            eprintln!("  line {}: {}", s.line, s.reason);
        }
    }
    if r.rows_filtered > 0 {
        eprintln!("tallyscope: {}: {} rows left out by --where", r.file, r.rows_filtered);
    }
    for n in &r.notes {
        eprintln!("tallyscope: {}: note: {n}", r.file);
    }
    if r.partial_stations > 0 {
        eprintln!(
            "tallyscope: {}: {} stations published their protocol in part (a line is empty, '-' or 'NA'); they are checked on what they have and set aside from the statistics",
            r.file, r.partial_stations
        );
    }
    if r.rows_unpublished > 0 {
        eprintln!(
            "tallyscope: {}: {} rows have no counts at all (protocols not published); they are listed by `inspect` and not analysed",
            r.file, r.rows_unpublished
        );
    }
}
