//! Result tables as Arrow record batches, handed to polars through the Arrow PyCapsule
//! interface (`__arrow_c_stream__`, the Arrow C stream interface): polars takes the
//! buffers over as they are, with no serialisation, no `bytes` object and no decoding
//! (`pl.DataFrame(table)`; pyarrow, DuckDB and others read the same object). Typed,
//! nullable columns (Int64, Float64, Boolean, LargeUtf8) and LargeList(LargeUtf8) for the
//! lists of reasons and notes. The library lays text out flat (`tallyscope::api::FlatText`),
//! in Arrow's own layout, so its buffers become Arrow buffers without a copy per cell.
//!
//! The C interface is arrow-rs's own (`arrow_array::ffi_stream`, the same crate the
//! arrays come from); only the capsule around it is written here. pyo3-arrow would do the
//! capsule too, but its latest release (0.20) is built on arrow 59 and would bring a
//! second copy of arrow (plus arrow-cast, chrono-tz and numpy) into the build.

use arrow_array::builder::BooleanBufferBuilder;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, LargeListArray, LargeStringArray, RecordBatch, RecordBatchIterator};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use std::sync::Arc;
use tallyscope::api::{Cells, FlatText, Typed};
use tallyscope::export::table::Values;

fn text(t: FlatText) -> Result<LargeStringArray, ArrowError> {
    let nulls = (!t.valid.is_empty()).then(|| {
        let mut b = BooleanBufferBuilder::new(t.valid.len());
        t.valid.iter().for_each(|&v| b.append(v));
        NullBuffer::new(b.finish())
    });
    let n = t.offsets.len().saturating_sub(1);
    if t.offsets.first() != Some(&0) || t.offsets.last().is_some_and(|&o| o as usize != t.data.len()) || nulls.as_ref().is_some_and(|v| v.len() != n) {
        return Err(ArrowError::InvalidArgumentError(format!("text column laid out wrong: {n} cells, {} bytes", t.data.len())));
    }
    debug_assert!(std::str::from_utf8(&t.data).is_ok() && t.offsets.windows(2).all(|w| w[0] <= w[1]));
    // SAFETY: the library builds `FlatText` only by appending whole `&str`s and pushing
    // the length after each (`FlatText::from_cells`, `FlatLists::build`): the data is
    // valid UTF-8 and the offsets start at 0, never decrease, end at the data's length
    // (checked above) and fall on the boundaries between strings. Validating the UTF-8
    // again (`try_new`) was about a tenth of the stations table's conversion (12 ms of
    // CPU on Russia 2018); debug builds still check it (above).
    Ok(unsafe { LargeStringArray::new_unchecked(OffsetBuffer::new_unchecked(ScalarBuffer::from(t.offsets)), Buffer::from_vec(t.data), nulls) })
}

/// One column as an Arrow array.
fn array(cells: Cells) -> Result<ArrayRef, ArrowError> {
    Ok(match cells {
        Cells::Values(Values::Int(v)) => Arc::new(Int64Array::from(v)),
        Cells::Values(Values::Float(v)) => Arc::new(Float64Array::from(v)),
        Cells::Values(Values::Bool(v)) => Arc::new(BooleanArray::from(v)),
        Cells::Values(Values::Text(v)) => Arc::new(v.iter().map(|s| s.as_deref()).collect::<LargeStringArray>()),
        Cells::Text(t) => Arc::new(text(t)?),
        Cells::Lists(l) => {
            let field = Arc::new(Field::new("item", DataType::LargeUtf8, true));
            Arc::new(LargeListArray::try_new(field, OffsetBuffer::new(ScalarBuffer::from(l.rows)), Arc::new(text(l.items)?), None)?)
        }
    })
}

/// The table as one Arrow record batch.
pub fn batch(t: Typed) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::with_capacity(t.columns.len());
    let mut arrays = Vec::with_capacity(t.columns.len());
    for (name, cells) in t.columns {
        let a = array(cells)?;
        fields.push(Field::new(name, a.data_type().clone(), true));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    if arrays.is_empty() { Ok(RecordBatch::new_empty(schema)) } else { RecordBatch::try_new(schema, arrays) }
}

/// A result table, built once in Rust: an Arrow record batch that polars (or pyarrow,
/// DuckDB, …) imports without a copy through the Arrow PyCapsule interface
/// (`pl.DataFrame(table)`). It can be exported any number of times; each export shares
/// the same buffers.
#[pyclass(frozen, module = "tallyscope._tallyscope")]
pub struct Table {
    batch: RecordBatch,
}

impl Table {
    pub fn new(batch: RecordBatch) -> Table {
        Table { batch }
    }
}

#[pymethods]
impl Table {
    /// The table as an Arrow C stream of one record batch, in a PyCapsule named
    /// `arrow_array_stream` (the Arrow PyCapsule interface). `requested_schema` is
    /// accepted and ignored, as the interface allows: the columns have one type each.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(&self, py: Python<'py>, requested_schema: Option<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new([Ok(self.batch.clone())], self.batch.schema());
        // The capsule owns the stream; a consumer that imports it moves it out (and
        // clears its `release`), else dropping the capsule releases it.
        PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(Box::new(reader)), c"arrow_array_stream")
    }
    /// Rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }
    /// Column names.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.batch.schema().fields().iter().map(|f| f.name().clone()).collect()
    }
    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }
    fn __repr__(&self) -> String {
        format!("<tallyscope._tallyscope.Table: {} rows, {} columns>", self.batch.num_rows(), self.batch.num_columns())
    }
}
