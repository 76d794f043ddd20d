//! `tallyscope._tallyscope`: the compiled half of the Python package. It converts and
//! nothing else: every computation is the library's ([`tallyscope::api`], the same
//! functions the command line calls), run with the GIL released; result tables go to
//! polars as Arrow record batches through the Arrow PyCapsule interface, without a
//! copy (`arrow.rs`); errors become Python exceptions with the command line's messages
//! (`errors.rs`). The Python half is `tallyscope/__init__.py`.

mod arrow;
mod errors;

use arrow::Table;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::Arc;
use tallyscope::api;
use tallyscope::ingest::{Ingested, ReadReport};

/// An election read by the library (the protocols and how they were read).
#[pyclass(frozen, module = "tallyscope._tallyscope")]
struct Election {
    election: Arc<tallyscope::Election>,
    report: ReadReport,
}

impl Election {
    fn from_ingested(ing: Ingested) -> Election {
        Election { election: Arc::new(ing.election), report: ing.report }
    }
}

#[pymethods]
impl Election {
    /// `tallyscope inspect --json` of this election, as JSON text.
    fn inspect_json(&self, py: Python<'_>) -> String {
        py.detach(|| api::inspect_json(&Ingested { election: (*self.election).clone(), report: self.report.clone() }))
    }
    /// The protocol checks' violations, as an Arrow table.
    fn check(&self, py: Python<'_>) -> PyResult<Table> {
        let batch = py.detach(|| {
            let r = tallyscope::checks::run(&self.election);
            let t = api::violations(&self.election, &r);
            arrow::batch(api::Typed { columns: t.columns.into_iter().map(|c| (c.name, api::Cells::from_values(c.values))).collect() })
        });
        Ok(Table::new(errors::arrow(batch)?))
    }
    /// Stations read.
    #[getter]
    fn stations(&self) -> usize {
        self.election.len()
    }
    /// Candidate names, in file order.
    #[getter]
    fn candidates(&self) -> Vec<String> {
        self.election.candidates.clone()
    }
    /// The name standing for the source in messages.
    #[getter]
    fn source(&self) -> String {
        self.report.file.clone()
    }
}

/// An analysis (checks, battery, ranking) of one election.
#[pyclass(frozen, module = "tallyscope._tallyscope")]
struct Analysis {
    a: Arc<tallyscope::analysis::Analysis>,
}

#[pymethods]
impl Analysis {
    /// One result table (`tests`, `stations`, `commissions`, `regions`, `violations`) as
    /// an Arrow table (`pl.DataFrame(table)` imports it without a copy). With
    /// `TALLYSCOPE_PHASES` set, prints how long its columns and its Arrow arrays took.
    fn table(&self, py: Python<'_>, name: &str) -> PyResult<Table> {
        let batch = py.detach(|| {
            let t0 = std::time::Instant::now();
            let t = api::typed_table(&self.a, name);
            let t1 = t0.elapsed();
            let r = t.map(arrow::batch);
            if std::env::var_os("TALLYSCOPE_PHASES").is_some() {
                eprintln!("table {name}: columns {:.3} s, arrow {:.3} s", t1.as_secs_f64(), (t0.elapsed() - t1).as_secs_f64());
            }
            r
        })
        .map_err(errors::to_py)?;
        Ok(Table::new(errors::arrow(batch)?))
    }
    /// `summary.json` as JSON text.
    fn summary_json(&self, py: Python<'_>) -> PyResult<String> {
        let v = py.detach(|| api::summary_json(&self.a));
        String::from_utf8(v).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }
    /// The national table `analyze` prints.
    fn text(&self, py: Python<'_>) -> String {
        py.detach(|| tallyscope::cli::folder::table(&self.a))
    }
    /// Writes the folder `analyze --out DIR` writes; returns the paths written.
    #[pyo3(signature = (dir, formats, charts))]
    fn write_folder(&self, py: Python<'_>, dir: PathBuf, formats: Vec<String>, charts: bool) -> PyResult<Vec<PathBuf>> {
        py.detach(|| {
            let f: Vec<&str> = formats.iter().map(String::as_str).collect();
            api::write_folder(&self.a, &dir, &f, charts)
        })
        .map_err(errors::to_py)
    }
    /// Draws one chart to `path` (.png or .svg).
    fn plot(&self, py: Python<'_>, kind: &str, path: PathBuf) -> PyResult<()> {
        py.detach(|| api::plot(&self.a, kind, &path)).map_err(errors::to_py)
    }
    /// Stations analysed.
    #[getter]
    fn stations(&self) -> usize {
        self.a.stations
    }
    /// The leader the analysis used.
    #[getter]
    fn leader(&self) -> Option<String> {
        self.a.leader.clone()
    }
}

/// Reading options shared by both sources.
fn options(mapping_json: &str, mapping_file: Option<PathBuf>, skip_bad_rows: bool, encoding: Option<String>, sheet: Option<String>) -> PyResult<tallyscope::ingest::Options> {
    api::read_options("read() keywords", mapping_json, mapping_file.as_deref(), skip_bad_rows, encoding, sheet).map_err(errors::to_py)
}

/// Reads a protocol file (anything the command line reads).
#[pyfunction]
#[pyo3(signature = (path, mapping_json, mapping_file=None, skip_bad_rows=false, encoding=None, sheet=None))]
fn read_path(py: Python<'_>, path: PathBuf, mapping_json: &str, mapping_file: Option<PathBuf>, skip_bad_rows: bool, encoding: Option<String>, sheet: Option<String>) -> PyResult<Election> {
    let opts = options(mapping_json, mapping_file, skip_bad_rows, encoding, sheet)?;
    py.detach(|| api::read_path(&path, &opts)).map(Election::from_ingested).map_err(errors::to_py)
}

/// Reads protocols given as CSV text (a DataFrame written out); `name` stands for the
/// source in messages, and with `frame` a message about a line also names the
/// DataFrame's row.
#[pyfunction]
#[pyo3(signature = (name, csv, mapping_json, mapping_file=None, skip_bad_rows=false, frame=true))]
fn read_csv(py: Python<'_>, name: &str, csv: Vec<u8>, mapping_json: &str, mapping_file: Option<PathBuf>, skip_bad_rows: bool, frame: bool) -> PyResult<Election> {
    let opts = options(mapping_json, mapping_file, skip_bad_rows, None, None)?;
    py.detach(|| api::read_bytes(name, csv, &opts))
        .map(Election::from_ingested)
        .map_err(|e| if frame { errors::to_py_frame(e) } else { errors::to_py(e) })
}

/// Analyses an election with the options of `tallyscope analyze FILE <flags>`.
#[pyfunction]
fn analyze(py: Python<'_>, election: &Election, flags: Vec<String>) -> PyResult<Analysis> {
    let opt = py.detach(|| api::analysis_options(&election.report.file, &election.election, &flags)).map_err(errors::to_py)?;
    let a = py.detach(|| tallyscope::analysis::run_election(election.election.clone(), election.report.clone(), &opt));
    Ok(Analysis { a: Arc::new(a) })
}

/// Simulates an election with the options of `tallyscope simulate <flags>`; returns the
/// protocols, the ground truth and (with `--observers`) the observers' records as CSV
/// text, and the summary.
#[pyfunction]
fn simulate<'py>(py: Python<'py>, flags: Vec<String>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Option<Bound<'py, PyBytes>>, String)> {
    let s = py.detach(|| api::simulate(&flags)).map_err(errors::to_py)?;
    Ok((PyBytes::new(py, &s.protocols), PyBytes::new(py, &s.truth), s.observed.map(|o| PyBytes::new(py, &o)), s.summary))
}

/// Compares official results with observers' records (`tallyscope compare OFFICIAL
/// OBSERVED <flags>`): discrepancies and stations as CSV text, summary JSON, the printed
/// summary and the exit status.
#[pyfunction]
fn compare<'py>(py: Python<'py>, official: PathBuf, observed: PathBuf, flags: Vec<String>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, String, String, i32)> {
    let c = py.detach(|| api::compare(&official, &observed, &flags)).map_err(errors::to_py)?;
    Ok((PyBytes::new(py, &c.discrepancies), PyBytes::new(py, &c.stations), c.summary, c.words, c.exit_code))
}

#[pymodule]
fn _tallyscope(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CHARTS", tallyscope::render::Chart::ALL.iter().map(|c| c.key()).collect::<Vec<_>>())?;
    m.add_class::<Election>()?;
    m.add_class::<Analysis>()?;
    m.add_class::<Table>()?;
    m.add_function(wrap_pyfunction!(read_path, m)?)?;
    m.add_function(wrap_pyfunction!(read_csv, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    errors::register(m)?;
    Ok(())
}
