//! The library's errors as Python exceptions, with the command line's messages:
//! `InputError` (a problem in the data: `file`, `line`, `column`, `value` attributes, and
//! `row` for a DataFrame), `UsageError` (an option or keyword that cannot work), both
//! subclasses of `TallyscopeError` (itself a `ValueError`); the operating system's
//! refusals (a missing file) are `OSError`s (`FileNotFoundError`, …).

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tallyscope::Error;

pyo3::create_exception!(_tallyscope, TallyscopeError, PyValueError, "An error of tallyscope (a subclass of ValueError).");
pyo3::create_exception!(_tallyscope, InputError, TallyscopeError, "A problem in the data: the message names the file, line, column and value.");
pyo3::create_exception!(_tallyscope, UsageError, TallyscopeError, "An option or keyword that cannot work as given.");

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TallyscopeError", py.get_type::<TallyscopeError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    Ok(())
}

/// The exception for `e`, its message exactly the command line's.
pub fn to_py(e: Error) -> PyErr {
    convert(e, false)
}

/// As [`to_py`] for a DataFrame read as CSV text: a message about a data line also names
/// the DataFrame's row (line 2 is row 0; line 1 is the header, the column names).
pub fn to_py_frame(e: Error) -> PyErr {
    convert(e, true)
}

fn convert(e: Error, frame: bool) -> PyErr {
    match e {
        Error::Input(ie) => {
            let row = ie.line.filter(|&l| frame && l >= 2).map(|l| l - 2);
            let mut msg = ie.to_string();
            match (frame, ie.line, row) {
                (true, _, Some(r)) => msg.push_str(&format!(" (row {r} of the DataFrame, counting from 0)")),
                (true, Some(1), _) => msg.push_str(" (line 1 is the DataFrame's column names)"),
                _ => {}
            }
            Python::attach(|py| {
                let err = InputError::new_err(msg);
                let v = err.value(py);
                let _ = v.setattr("file", ie.file.clone());
                let _ = v.setattr("line", ie.line);
                let _ = v.setattr("column", ie.column.clone());
                let _ = v.setattr("value", ie.value.clone());
                let _ = v.setattr("row", row);
                err
            })
        }
        Error::Usage(m) => UsageError::new_err(m),
        Error::Io { path, source } => {
            let msg = format!("{path}: {source}");
            match source.raw_os_error() {
                // (errno, message, filename): Python picks the subclass (FileNotFoundError, …).
                Some(code) => PyOSError::new_err((code, msg, path)),
                None => PyOSError::new_err(msg),
            }
        }
    }
}

/// An Arrow encoding failure (not expected: the columns are built here).
pub fn arrow<T>(r: Result<T, arrow_schema::ArrowError>) -> PyResult<T> {
    r.map_err(|e| PyRuntimeError::new_err(format!("tallyscope: building the Arrow table failed: {e}")))
}
