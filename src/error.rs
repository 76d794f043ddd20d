//! One error type for the whole tool, written the way ripgrep writes its errors: where
//! (file, line, column), what was found, what was expected. `main` maps it to exit
//! status 2 ("input or usage error"); violations found by `check` are not errors.

use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// A problem in the data: names the file, line, column and value where known.
    Input(InputError),
    /// The operating system refused: a missing file, a directory, permissions.
    Io { path: String, source: std::io::Error },
    /// The command line or a mapping file asks for something impossible.
    Usage(String),
}

/// A located data problem. Every field that is known is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// 1-based line in the file (the header is line 1).
    pub line: Option<u64>,
    pub column: Option<String>,
    pub value: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        InputError { file: file.into(), line: None, column: None, value: None, message: message.into() }
    }
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ":")?;
        if let Some(c) = &self.column {
            write!(f, " column \"{c}\":")?;
        }
        if let Some(v) = &self.value {
            write!(f, " value \"{}\":", shorten(v, 80))?;
        }
        write!(f, " {}", self.message)
    }
}

/// Keeps error messages readable when a cell holds a megabyte of junk.
pub fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return escape(s);
    }
    let head: String = s.chars().take(max_chars).collect();
    format!("{}… ({} bytes in all)", escape(&head), s.len())
}

/// Control and invisible characters made visible (`\0`, `\u{a0}`), quotes and
/// backslashes escaped; an apostrophe stays as it is ("1'234", not "1\'234").
fn escape(s: &str) -> String {
    s.chars().map(|c| if c == '\'' { c.to_string() } else { c.escape_debug().to_string() }).collect()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => e.fmt(f),
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl Error {
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn usage(m: impl Into<String>) -> Self {
        Error::Usage(m.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
