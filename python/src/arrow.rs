//! Result tables to Arrow IPC stream bytes, which polars reads without copying row by
//! row (`pl.read_ipc_stream`): typed, nullable columns (Int64, Float64, Utf8, Boolean)
//! and List(Utf8) for the lists of reasons and notes. Built column by column from the
//! library's typed tables; no Python objects per cell.

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, Field, Schema};
use std::sync::Arc;
use tallyscope::api::{Cells, Typed};
use tallyscope::export::table::Values;

/// One column as an Arrow array.
fn array(cells: &Cells) -> ArrayRef {
    match cells {
        Cells::Values(Values::Int(v)) => Arc::new(Int64Array::from(v.clone())),
        Cells::Values(Values::Float(v)) => Arc::new(Float64Array::from(v.clone())),
        Cells::Values(Values::Bool(v)) => Arc::new(BooleanArray::from(v.clone())),
        Cells::Values(Values::Text(v)) => Arc::new(v.iter().map(|s| s.as_deref()).collect::<StringArray>()),
        Cells::Lists(rows) => {
            let items: usize = rows.iter().map(|r| r.iter().map(String::len).sum::<usize>()).sum();
            let mut b = ListBuilder::with_capacity(StringBuilder::with_capacity(rows.len() * 2, items), rows.len());
            for r in rows {
                for s in r {
                    b.values().append_value(s);
                }
                b.append(true);
            }
            Arc::new(b.finish())
        }
    }
}

/// The table as one Arrow record batch in an IPC stream.
pub fn ipc(t: &Typed) -> Result<Vec<u8>, ArrowError> {
    let arrays: Vec<ArrayRef> = t.columns.iter().map(|(_, c)| array(c)).collect();
    let fields: Vec<Field> = t.columns.iter().zip(&arrays).map(|((name, _), a)| Field::new(name, a.data_type().clone(), true)).collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = if arrays.is_empty() { RecordBatch::new_empty(schema.clone()) } else { RecordBatch::try_new(schema.clone(), arrays)? };
    let mut out = Vec::new();
    {
        let mut w = StreamWriter::try_new(&mut out, &schema)?;
        w.write(&batch)?;
        w.finish()?;
    }
    Ok(out)
}
